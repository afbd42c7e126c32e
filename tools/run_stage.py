"""Run one pipeline notebook with papermill, then scrub the executed copy so that committed results are
diff-friendly: no wall-clock timestamps (papermill's per-cell durations are kept), and no absolute paths of this
machine (the repository root becomes `.`, the environment's site-packages `<site-packages>`).

    python tools/run_stage.py nbs/pipeline/<stage>.ipynb results/<db>/<stage>.ipynb [papermill options: -p k v ...]
"""
import json, os, re, subprocess, sys, sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def scrub(path: Path):
    "Remove timestamps and machine-specific absolute paths from an executed notebook, in place."
    nb = json.loads(path.read_text())
    for meta in [nb.get('metadata', {})] + [c.get('metadata', {}) for c in nb['cells']]:
        pm = meta.get('papermill', {})
        for key in ('start_time', 'end_time'): pm.pop(key, None)
        meta.get('execution', {}).clear()
    text = json.dumps(nb, indent=1, ensure_ascii=False)
    site = sysconfig.get_paths()['purelib']
    for old, new in ((site, '<site-packages>'), (str(ROOT.parent/'shared'), '../shared'), (str(ROOT), '.')):
        text = text.replace(old, new)
    text = re.sub(r'/tmp/tmp[\w]+', '<tmp>', text)
    path.write_text(text + '\n')


def main(argv):
    if len(argv) < 2: sys.exit(__doc__)
    src, dst, extra = argv[0], Path(argv[1]), argv[2:]
    dst.parent.mkdir(parents=True, exist_ok=True)
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
    if dst.is_file(): scrub(dst)
    sys.exit(rc)


if __name__ == '__main__':
    if sys.argv[1:2] == ['--scrub']:
        for p in sys.argv[2:]: scrub(Path(p))
    else: main(sys.argv[1:])
