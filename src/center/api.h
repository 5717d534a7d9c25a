/*
 * api.h — the center's REST API (/api/v1), shared by the api_*.c files.
 *
 * api.c holds the routing table, authentication (bearer user tokens, or a
 * host credential for depot payloads only) and the role check of every
 * request (auth_required_role), plus users, settings, tasks and events.
 * api_inventory.c: clusters, hosts, VMs. api_depot.c: bundles, releases,
 * payloads, trust. api_images.c: cluster images and compliance. The
 * OpenAPI description is docs/center-api.yaml.
 */
#ifndef SEAM_CENTER_API_H
#define SEAM_CENTER_API_H

#include <jansson.h>

#include "center.h"
#include "httpd.h"

struct center *api_center(struct httpd_req *req);
/* Row of the {cluster} / {host} path parameter, or NULL after a 404. */
json_t *api_cluster(struct httpd_req *req);
json_t *api_host(struct httpd_req *req);
/* An id from a query argument naming a cluster/host by id or name. */
int api_query_ref(struct httpd_req *req, const char *arg, bool host,
		  int64_t *id);
const char *api_str(const json_t *o, const char *k);
void api_reply_task(struct httpd_req *req, int64_t task_id);

#define API_HANDLER(name) void name(struct httpd_req *req)
/* api_inventory.c */
API_HANDLER(api_clusters_list);
API_HANDLER(api_clusters_create);
API_HANDLER(api_cluster_get);
API_HANDLER(api_cluster_patch);
API_HANDLER(api_cluster_delete);
API_HANDLER(api_cluster_settings_get);
API_HANDLER(api_cluster_settings_put);
API_HANDLER(api_hosts_list);
API_HANDLER(api_hosts_add);
API_HANDLER(api_host_get);
API_HANDLER(api_host_delete);
API_HANDLER(api_host_reconnect);
API_HANDLER(api_host_maintenance);
API_HANDLER(api_host_patch);
API_HANDLER(api_host_inventory);
API_HANDLER(api_host_credential);
API_HANDLER(api_vms_list);
API_HANDLER(api_vms_create);
API_HANDLER(api_vm_get);
API_HANDLER(api_vm_delete);
API_HANDLER(api_vm_power_on);
API_HANDLER(api_vm_power_off);
API_HANDLER(api_vm_suspend);
/* api_depot.c */
API_HANDLER(api_depot_upload);
API_HANDLER(api_depot_bundles);
API_HANDLER(api_depot_bases);
API_HANDLER(api_depot_base_get);
API_HANDLER(api_depot_base_delete);
API_HANDLER(api_depot_addons);
API_HANDLER(api_depot_addon_get);
API_HANDLER(api_depot_addon_delete);
API_HANDLER(api_depot_components);
API_HANDLER(api_depot_component_get);
API_HANDLER(api_depot_component_delete);
API_HANDLER(api_depot_payload);
API_HANDLER(api_trust_list);
API_HANDLER(api_trust_add);
API_HANDLER(api_trust_delete);
/* api_images.c */
API_HANDLER(api_image_get);
API_HANDLER(api_image_put);
API_HANDLER(api_images_list);
API_HANDLER(api_images_create);
API_HANDLER(api_images_replace);
API_HANDLER(api_images_import);
API_HANDLER(api_images_validate);
API_HANDLER(api_image_named_get);
API_HANDLER(api_image_named_put);
API_HANDLER(api_image_named_delete);
API_HANDLER(api_image_export);
API_HANDLER(api_compliance_run);
API_HANDLER(api_compliance_list);
API_HANDLER(api_host_compliance_get);
API_HANDLER(api_host_compliance_run);
/* api_lcm.c */
API_HANDLER(api_lcm_precheck);
API_HANDLER(api_lcm_stage);
API_HANDLER(api_lcm_remediate);
API_HANDLER(api_lcm_cancel);
API_HANDLER(api_lcm_remediations);
API_HANDLER(api_lcm_remediation_get);

#endif
