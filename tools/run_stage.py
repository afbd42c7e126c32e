"""Run one pipeline notebook with papermill, then scrub the executed copy so that a re-run that reproduces its
results leaves the committed file byte for byte unchanged: no wall-clock timestamps or per-cell durations, no random
cell id, progress bars reduced to their final state without their timings, stream output in one chunk per stream,
and no absolute paths of this machine (the repository root becomes `.`, the environment's site-packages
`<site-packages>`). Warnings, errors and everything a cell prints stay.

    python tools/run_stage.py nbs/pipeline/<stage>.ipynb results/<db>/<stage>.ipynb [papermill options: -p k v ...]
    python tools/run_stage.py --scrub results/<db>/<stage>.ipynb ...     # scrub executed notebooks in place
"""
import json, os, re, subprocess, sys, sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# tqdm's timing fields: `[elapsed<remaining, rate` (or `[elapsed, rate` without a total) before any postfix
TQDM_TIMING = re.compile(r' ?\[(?:\d+:)?\d\d:\d\d(?:<(?:(?:\d+:)?\d\d:\d\d|\?))?, *(?:\?|[\d.]+[kMGTPEZY]?)'
                         r'(?:[^\s,\]]*/s|s/[^\s,\]]*)(?P<postfix>(?:, *[^\]]*)?)\]')
# the notebook's total wall time is kept (the CLIVE report reads it) but rewritten only when it moves by more than
# this factor: stage times on a shared machine vary by less, so a re-run that reproduces changes nothing
DURATION_SLACK = 2.0


def _without_timing(match: re.Match) -> str:
    post = match['postfix'].lstrip(', ')
    return f' [{post}]' if post else ''


def render_stream(text: str) -> str:
    """The text as a terminal would leave it: each line keeps what follows its last carriage return (a progress bar
    keeps its final state), lines a progress bar blanked are dropped, and tqdm's timings are removed."""
    def render(line):
        if '\r' in line: line = line.split('\r')[-1].rstrip()
        return TQDM_TIMING.sub(_without_timing, line)
    *lines, last = text.replace('\r\n', '\n').split('\n')      # `last`: what follows the final newline
    kept = [render(l) + '\n' for l in lines if '\r' not in l or render(l)]
    return ''.join(kept) + render(last)


def merge_streams(outputs: list) -> list:
    """Each run of consecutive stream outputs as one output per stream (stdout, then stderr): how the kernel cut
    them into chunks depends on timing, what they say does not."""
    merged, run = [], {}
    def flush():
        for name in ('stdout', 'stderr'):
            if name in run:
                text = render_stream(run[name])
                if text.strip(): merged.append({'name': name, 'output_type': 'stream', 'text': text.splitlines(True)})
        run.clear()
    for out in outputs:
        if out.get('output_type') == 'stream' and out.get('name') in ('stdout', 'stderr'):
            text = out['text'] if isinstance(out['text'], str) else ''.join(out['text'])
            run[out['name']] = run.get(out['name'], '') + text
        else:
            flush(); merged.append(out)
    flush()
    return merged


def recorded_duration(path: Path):
    "The total wall time papermill recorded in an executed notebook, or None."
    try: return json.loads(path.read_text())['metadata']['papermill']['duration']
    except (OSError, ValueError, KeyError, TypeError): return None


def scrub(path: Path, previous_duration=None):
    """Remove run-to-run noise and machine-specific absolute paths from an executed notebook, in place.
    `previous_duration`: the wall time recorded before this run, kept when the new one is within DURATION_SLACK."""
    nb = json.loads(path.read_text())
    pm = nb.get('metadata', {}).get('papermill', {})
    for key in ('start_time', 'end_time'): pm.pop(key, None)
    new = pm.get('duration')
    if previous_duration and new and 1 / DURATION_SLACK <= new / previous_duration <= DURATION_SLACK:
        pm['duration'] = previous_duration
    for cell in nb['cells']:
        meta = cell.get('metadata', {})
        for key in ('start_time', 'end_time', 'duration'): meta.get('papermill', {}).pop(key, None)
        meta.get('execution', {}).clear()
        if 'injected-parameters' in meta.get('tags', []): cell['id'] = 'injected-parameters'
        if 'outputs' in cell: cell['outputs'] = merge_streams(cell['outputs'])
    text = json.dumps(nb, indent=1, ensure_ascii=False)
    site = sysconfig.get_paths()['purelib']
    for old, new in ((site, '<site-packages>'), (str(ROOT.parent/'shared'), '../shared'), (str(ROOT), '.')):
        text = text.replace(old, new)
    text = re.sub(r'/tmp/tmp[\w]+', '<tmp>', text)
    text = re.sub(r' at 0x[0-9a-f]{6,}>', ' at 0x…>', text)      # object addresses in reprs and warnings
    path.write_text(text + '\n')


def main(argv):
    if len(argv) < 2: sys.exit(__doc__)
    src, dst, extra = argv[0], Path(argv[1]), argv[2:]
    dst.parent.mkdir(parents=True, exist_ok=True)
    previous_duration = recorded_duration(dst)
    cmd = [sys.executable, '-m', 'papermill', '-k', 'python3', '--cwd', '.', '--log-output', '--log-level', 'WARNING',
           src, str(dst), *extra]
    # the executed notebook is the results record: its figures must be in it, so the kernel gets Jupyter's inline
    # backend even when the caller's shell sets a non-interactive one (make test exports MPLBACKEND=Agg)
    env = {k: v for k, v in os.environ.items() if k != 'MPLBACKEND'}
    # OpenMP threads (torch's CPU kernels) sleep instead of spinning while they wait: with the default spinning, a
    # training stage sharing its cores with one other process ran ~14x slower (nbs/training/runtime.ipynb). The
    # OpenMP runtime reads this when torch loads, so it must be in the kernel's environment; results do not change.
    env.setdefault('OMP_WAIT_POLICY', 'PASSIVE'); env.setdefault('KMP_BLOCKTIME', '0')
    rc = subprocess.call(cmd, cwd=ROOT, env=env)
    if dst.is_file(): scrub(dst, previous_duration)
    sys.exit(rc)


if __name__ == '__main__':
    if sys.argv[1:2] == ['--scrub']:
        for p in sys.argv[2:]: scrub(Path(p))
    else: main(sys.argv[1:])
