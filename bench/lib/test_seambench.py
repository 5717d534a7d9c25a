"""Unit checks of seambench's log parsing and helpers on small synthetic
logs. Run: /usr/bin/python3 -m pytest -q bench/lib/test_seambench.py"""
import os
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seambench as sb  # noqa: E402


def hb(seq, t, v="1.0.0.0"):
    return "hb seq=%d t_us=%d vmx=%s" % (seq, t, v)


def test_clean_stream():
    lines = ["seam-guest 1.0 cpus=2 mem_mb=256 cmdline='heartbeat=1'",
             "ready"] + [hb(i, 1000 * i) for i in range(1, 11)]
    st = sb.parse_log(lines)
    assert st.heartbeats == 10
    assert st.hb_seq_errors == 0
    assert st.guest_gap_us_max == 1000
    assert st.verify_failures == 0 and st.verify_passes == 0
    assert st.versions == ["1.0.0.0"]
    assert st.last_seq == 10


def test_gap_repeat_and_largest_gap():
    lines = [hb(1, 1000), hb(2, 2000), hb(4, 3000),  # gap in seq
             hb(4, 4000),                             # repeat
             hb(5, 9000), hb(6, 10000)]               # 5000 us pause
    st = sb.parse_log(lines)
    assert st.hb_seq_errors == 2
    assert st.guest_gap_us_max == 5000
    assert (st.guest_gap_from_seq, st.guest_gap_to_seq) == (4, 5)


def test_seq_going_back_is_an_error():
    st = sb.parse_log([hb(10, 10), hb(11, 20), hb(3, 30), hb(4, 40)])
    assert st.hb_seq_errors == 1


def test_verify_lines_and_versions_in_order():
    lines = [hb(1, 0, "1.0.0.0"), "verify ok pass=1",
             hb(2, 10, "1.0.0.0100"), hb(3, 20, "1.0.0.0100"),
             "verify ok pass=2", hb(4, 30, "1.0.0.0"),
             "verify FAIL addr=0x1000 expected=0x1 got=0x2",
             hb(5, 40, "none")]
    st = sb.parse_log(lines)
    assert st.verify_passes == 2
    assert st.verify_failures == 1
    assert st.versions == ["1.0.0.0", "1.0.0.0100", "1.0.0.0", "none"]
    assert st.hb_seq_errors == 0


def test_window_starts_at_heartbeat_before_operation():
    # A big gap early (boot), then the operation at line index 4.
    lines = [hb(1, 0), hb(2, 900000),        # 900 ms: before the window
             hb(3, 901000), "verify ok pass=1",
             hb(4, 905000),                  # 4000 us across the operation
             hb(5, 906000)]
    assert sb.parse_log(lines).guest_gap_us_max == 900000
    st = sb.parse_log(lines, window_start=4)  # op began at line 4
    assert st.guest_gap_us_max == 4000
    assert st.window_heartbeats == 3
    assert st.heartbeats == 5  # whole-log counts unchanged


def test_window_errors_count_over_whole_log():
    lines = [hb(1, 0), hb(3, 10), hb(4, 20), hb(5, 30)]
    st = sb.parse_log(lines, window_start=3)
    assert st.hb_seq_errors == 1
    assert st.guest_gap_us_max == 10


def test_window_beyond_end_and_empty():
    st = sb.parse_log([hb(1, 0), hb(2, 7)], window_start=99)
    assert st.guest_gap_us_max == 0 and st.window_heartbeats == 1
    st = sb.parse_log([])
    assert st.heartbeats == 0 and st.guest_gap_us_max == 0


def test_damaged_line_is_not_a_heartbeat():
    lines = [hb(1088, 3288724, "none"), "b seq=1089 t_us=3297316 vmx=none",
             hb(1090, 3301015, "none")]
    st = sb.parse_log(lines)
    assert st.heartbeats == 2
    assert st.hb_seq_errors == 1


def test_line_split_across_source_and_destination(tmp_path):
    # The source stopped in the middle of the guest's `rep outsb`: the
    # destination's log holds the rest of that line.
    a, b = tmp_path / "src.log", tmp_path / "dst.log"
    a.write_text(hb(217, 42930748, "none") + "\nhb seq=218 t_us=4357")
    b.write_text("4014 vmx=none\nverify ok pass=104\n" +
                 hb(219, 44439179, "none") + "\n")
    st = sb.parse_log(sb.read_log_lines(str(a), str(b)))
    assert st.heartbeats == 3 and st.hb_seq_errors == 0
    assert st.guest_gap_us_max == 44439179 - 43574014


def test_truncated_tail_line_not_a_heartbeat():
    lines = [hb(1, 0), "hb seq=2 t_us=10"]
    st = sb.parse_log(lines)
    assert st.heartbeats == 1


def test_read_log_lines_joins_files_and_drops_partial_line(tmp_path):
    a, b = tmp_path / "src.log", tmp_path / "dst.log"
    a.write_text(hb(1, 0) + "\n" + hb(2, 1000) + "\n")
    b.write_text(hb(3, 2500) + "\n" + "hb seq=4 t_us=35")  # still writing
    lines = sb.read_log_lines(str(a), str(b), str(tmp_path / "missing"))
    assert lines == [hb(1, 0), hb(2, 1000), hb(3, 2500)]
    st = sb.parse_log(lines, window_start=2)
    assert st.guest_gap_us_max == 1500
    assert sb.count_lines(str(a)) == 2


def test_median_emit_sizes(capsys):
    assert sb.median([3, 1, 2]) == 2
    assert sb.median([4, 1, 2, 3]) == 2.5
    assert sb.median([]) is None
    sb.emit("a_b", 12)
    sb.emit("c", 2.5)
    sb.emit("d", 3.0)
    sb.emit("e", None)
    sb.emit("f", sb.mib(410))
    assert capsys.readouterr().out == "a_b=12\nc=2.5\nd=3\ne=none\nf=0.4\n"
    assert sb.parse_size("256m") == (256 << 20, "256m")
    assert sb.parse_size("4G") == (4 << 30, "4g")
    with pytest.raises(sb.BenchError):
        sb.parse_size("4x")


def test_reply_field():
    r = {"ok": True, "stun_time_us": 1234}
    assert sb.reply_field(r, ("stun_us", "stun_time_us")) == 1234
    assert sb.reply_field(r, ("nope",), 7) == 7


def test_free_port_and_procs_clean_up():
    port = sb.free_tcp_port()
    s = socket.socket()
    s.bind(("127.0.0.1", port))  # it was free
    s.close()
    procs = sb.Procs()
    # A process with a child in its group: both must go.
    p = procs.start(["/bin/sh", "-c", "sleep 300 & sleep 300"])
    time.sleep(0.3)
    kids = sb.tree_pids(p.pid)
    assert len(kids) >= 2
    m = sb.tree_mem_kib(p.pid)
    assert m["rss"] > 0 and m["mem"] >= m["pss"] > 0
    procs.stop_all()
    time.sleep(0.2)
    for pid in kids:
        assert not os.path.exists("/proc/%d" % pid) or \
            open("/proc/%d/stat" % pid).read().split()[2] == "Z"


def test_mem_sampler_sees_growth():
    procs = sb.Procs()
    p = procs.start([sys.executable, "-c",
                     "import time; time.sleep(0.5); b = bytearray(64 << 20);"
                     " time.sleep(2)"])
    s = sb.MemSampler([p.pid], 0.01)
    before = sb.tree_mem_kib(p.pid)
    s.start()
    time.sleep(1.5)
    peak = s.stop()
    procs.stop_all()
    assert peak["mem"] - before["mem"] > 60 * 1024


def test_process_killed_on_sigterm_of_benchmark(tmp_path):
    # A benchmark killed by SIGTERM ends what it started.
    script = tmp_path / "b.py"
    pidfile = tmp_path / "pid"
    script.write_text(
        "import sys, time\n"
        "sys.path.insert(0, %r)\n"
        "import seambench as sb\n"
        "p = sb.Procs().start(['sleep', '300'])\n"
        "open(%r, 'w').write(str(p.pid))\n"
        "time.sleep(300)\n" % (os.path.dirname(os.path.abspath(__file__)),
                                str(pidfile)))
    b = subprocess.Popen([sys.executable, str(script)])
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text():
            break
        time.sleep(0.05)
    child = int(pidfile.read_text())
    b.terminate()
    assert b.wait(10) == 128 + 15
    time.sleep(0.2)
    assert not os.path.exists("/proc/%d" % child) or \
        open("/proc/%d/stat" % child).read().split()[2] == "Z"


# ---- The Seam side of the benchmarks, against a stand-in seam-vmx ----

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_script(name):
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader(
        "bench_" + name, os.path.join(BENCH, name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


@pytest.fixture
def fake_build(tmp_path, monkeypatch):
    build = tmp_path / "build"
    build.mkdir()
    fake = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "fake_seam_vmx.py")
    for n in ("seam-vmx", "seam-vmx-next"):
        p = build / n
        p.write_text("#!/bin/sh\nexec %s %s \"$@\"\n" % (sys.executable,
                                                         fake))
        p.chmod(0o755)
    (build / "seam-guest").write_text("not a kernel\n")
    monkeypatch.setenv("SEAM_BUILD", str(build))
    monkeypatch.setenv("SEAM_TIME_SCALE", "1")
    return build


def test_migrate_seam_side_with_stand_in(fake_build, tmp_path, capsys):
    mig = load_script("migrate")
    args = mig.parse_args(["--sizes", "256m", "--loads", "idle", "--quick"])
    procs = sb.Procs()
    try:
        seam = mig.Seam(procs, str(tmp_path), args)
        mig.run_seam_case(seam, 256 << 20, "256m_idle",
                          "heartbeat=1,verify=64")
    finally:
        procs.stop_all()
    out = dict(x.split("=", 1) for x in capsys.readouterr().out.split())
    assert set(out) == {"downtime_ms_256m_idle", "total_ms_256m_idle",
                        "bytes_sent_256m_idle", "rounds_256m_idle",
                        "guest_gap_us_max_256m_idle",
                        "hb_seq_errors_256m_idle",
                        "verify_failures_256m_idle", "throttled_256m_idle"}
    assert out["hb_seq_errors_256m_idle"] == "0"
    assert out["rounds_256m_idle"] == "1"
    assert int(out["guest_gap_us_max_256m_idle"]) >= 1000


def test_migrate_refuses_without_seam_migration(fake_build, tmp_path):
    (fake_build / "seam-vmx").write_text(
        "#!/bin/sh\necho \"seam-vmx run: unknown option '--incoming'\" >&2"
        "\nexit 2\n")
    mig = load_script("migrate")
    args = mig.parse_args(["--sizes", "256m"])
    with pytest.raises(sb.BenchError, match="no migrate command yet"):
        mig.Seam(sb.Procs(), str(tmp_path), args)


def test_fsr_seam_side_with_stand_in(fake_build, tmp_path):
    fsr = load_script("fsr")
    args = fsr.parse_args(["--sizes", "256m", "--count", "2", "--quick"])
    procs = sb.Procs()
    try:
        r = fsr.Seam(procs, str(tmp_path), args).run_case(
            256 << 20, "256m", "256m", "heartbeat=1,verify=64")
    finally:
        procs.stop_all()
    assert r["stun_median"] == 2000 and r["stun_max"] == 2000
    assert r["stats"].hb_seq_errors == 0
    assert r["stats"].guest_gap_us_max >= 1000
