"""seamlog — what a seam-guest's serial log says (python3 standard library).

seam-guest prints `hb seq=N t_us=T vmx=V` every heartbeat interval,
`verify ok pass=N` after each full check of its memory pattern and
`verify FAIL ...` if a word ever changed. A pause the guest suffered shows
as a gap between two heartbeats' t_us (the guest's own clock, carried
across a hand-over), a lost or repeated line as a seq that is not the
previous one plus one. The benchmarks (bench/lib/seambench.py), the tests
(tests/integration/conftest.py, the e2e live tests) and the lab's
continuity proof (lab/seamlab.py) all judge logs with this one module.
"""
import re

HB_RE = re.compile(r"^hb seq=(\d+) t_us=(\d+) vmx=(\S+)\s*$")
VERIFY_OK_RE = re.compile(r"^verify ok pass=(\d+)\s*$")
VERIFY_FAIL_PREFIX = "verify FAIL"


class LogStats:
    """What a heartbeat stream says.

    heartbeats        heartbeat lines in the whole stream
    hb_seq_errors     heartbeats whose seq is not the previous seq + 1 (a gap
                      or a repeat), over the whole stream
    guest_gap_us_max  the largest t_us difference between consecutive
                      heartbeats inside the window (0 with fewer than two)
    guest_gap_from_seq / guest_gap_to_seq  the pair where that gap is
    window_heartbeats heartbeats inside the window
    verify_failures   `verify FAIL` lines, whole stream
    verify_passes     the highest `verify ok pass=N` seen (0 if none)
    versions          the vmx= values in order, consecutive repeats folded:
                      ["1.0.0.0", "1.0.0.0100", "1.0.0.0"]
    last_seq          the last heartbeat's seq (0 if none)
    """

    def __init__(self):
        self.heartbeats = 0
        self.hb_seq_errors = 0
        self.guest_gap_us_max = 0
        self.guest_gap_from_seq = None
        self.guest_gap_to_seq = None
        self.window_heartbeats = 0
        self.verify_failures = 0
        self.verify_passes = 0
        self.versions = []
        self.last_seq = 0

    def as_dict(self):
        return dict(self.__dict__)

    def __repr__(self):
        return "LogStats(%r)" % self.as_dict()


def _hb_match(line):
    return HB_RE.match(line)


def parse_log(lines, window_start=None):
    """Judge a serial log given as a list of lines (no newlines needed).

    window_start, a line index, restricts guest_gap_us_max to the window that
    begins at the last heartbeat line before that index (so the gap across an
    operation that started there is inside) and runs to the end. None means
    the whole log. Sequence errors and verify lines always count over the
    whole log: a line lost before the window is still lost.
    """
    st = LogStats()
    prev_seq = None
    prev_t = None
    win_from = 0
    if window_start is not None:
        win_from = window_start
        for i in range(min(window_start, len(lines)) - 1, -1, -1):
            if _hb_match(lines[i]):
                win_from = i
                break
    for i, line in enumerate(lines):
        m = _hb_match(line)
        if m:
            seq, t_us, ver = int(m.group(1)), int(m.group(2)), m.group(3)
            st.heartbeats += 1
            if prev_seq is not None and seq != prev_seq + 1:
                st.hb_seq_errors += 1
            if not st.versions or st.versions[-1] != ver:
                st.versions.append(ver)
            if i >= win_from:
                st.window_heartbeats += 1
                if prev_t is not None:
                    gap = t_us - prev_t
                    if gap > st.guest_gap_us_max or \
                            st.guest_gap_from_seq is None:
                        st.guest_gap_us_max = gap
                        st.guest_gap_from_seq = prev_seq
                        st.guest_gap_to_seq = seq
                prev_t = t_us
            prev_seq = seq
            st.last_seq = seq
            continue
        m = VERIFY_OK_RE.match(line)
        if m:
            st.verify_passes = max(st.verify_passes, int(m.group(1)))
        elif line.startswith(VERIFY_FAIL_PREFIX):
            st.verify_failures += 1
    return st


def read_log_lines(*paths):
    """The complete lines of one or more serial logs, in the order given, as
    one byte stream (a source's log then a destination's): a line the guest
    was writing when the source stopped begins in the first file and ends in
    the second, and is joined. The stream's last line, if it has no newline
    yet (the guest is still writing it), is left out. A missing file counts
    as empty."""
    data = b""
    for p in paths:
        try:
            with open(p, "rb") as f:
                data += f.read()
        except FileNotFoundError:
            continue
    parts = data.decode("utf-8", errors="replace").split("\n")
    return [x.rstrip("\r") for x in parts[:-1]]


def count_lines(path):
    """How many complete lines a log holds now (a window's start)."""
    return len(read_log_lines(path))


def heartbeat_count(lines):
    return sum(1 for x in lines if _hb_match(x))


def heartbeats(lines):
    """(seq, t_us, vmx) of every heartbeat line, in order."""
    out = []
    for line in lines:
        m = HB_RE.match(line)
        if m:
            out.append((int(m.group(1)), int(m.group(2)), m.group(3)))
    return out


def handovers(hbs):
    """Where the vmx version changes between two consecutive heartbeats (an
    FSR or a migration onto another binary): (from_seq, to_seq, gap_us,
    from_version, to_version) for each, from heartbeats() output."""
    return [(a[0], b[0], b[1] - a[1], a[2], b[2])
            for a, b in zip(hbs, hbs[1:]) if a[2] != b[2]]


def judge(path):
    """parse_log over a whole serial log file (complete lines only)."""
    return parse_log(read_log_lines(path))
