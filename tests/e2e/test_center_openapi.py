"""docs/center-api.yaml describes exactly the routes src/center/api.c
serves (method and path), so the document cannot drift from the code."""
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def code_routes():
    src = (REPO / "src" / "center" / "api.c").read_text()
    out = set()
    for m, p in re.findall(r'R\("([A-Z]+)", "([^"]+)"', src):
        out.add((m, p))
    for m, p in re.findall(r'\{"([A-Z]+)", "/api/v1([^"]+)"', src):
        out.add((m, p))
    return out


def doc_routes():
    doc = yaml.safe_load((REPO / "docs" / "center-api.yaml").read_text())
    out = set()
    for path, item in doc["paths"].items():
        for m in item:
            if m in ("get", "put", "post", "delete", "patch"):
                out.add((m.upper(), path))
    return out


def test_openapi_matches_routes():
    code, doc = code_routes(), doc_routes()
    assert len(code) > 50
    assert code - doc == set(), "routes missing from the document"
    assert doc - code == set(), "documented routes the center lacks"
