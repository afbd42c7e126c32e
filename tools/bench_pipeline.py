"""Time and reproducibility budgets of the default DVC pipeline, measured (not asserted in a unit test) and
recorded in results/benchmarks/pipeline.md:

1. `dvc repro -f` from scratch on the demo (default pipeline's outputs/ removed, so no checkpoint is resumed): target <= 10 min;
2. a second `dvc repro` with nothing changed: target <= 10 s;
3. changing one fine-tuning parameter re-runs only the stages below it (`dvc repro --dry` lists them);
4. `dvc repro -f` twice gives identical metrics and per-repetition results.

    python tools/bench_pipeline.py     # ~2x the time of a full repro
"""
import json, os, platform, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DVC = [sys.executable, '-m', 'dvc']


def run(*args, check=True):
    t = time.perf_counter()
    p = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    if check and p.returncode: sys.exit(f"{' '.join(args)} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return time.perf_counter() - t, p.stdout + p.stderr


def snapshot():
    "Every committed result file that should not change between two identical runs."
    files = sorted(p for p in (ROOT/'results').rglob('*') if p.suffix in ('.csv', '.json', '.md') and 'benchmarks' not in p.parts)
    return {str(p.relative_to(ROOT)): p.read_bytes() for p in files}


def clear_outputs():
    "Remove the data products of the default pipeline (dvc.yaml), so no stage can reuse a cache or a checkpoint."
    from dvc.repo import Repo
    with Repo(str(ROOT)) as repo:
        outs = [str(o.fs_path) for st in repo.index.stages if Path(st.dvcfile.path).resolve() == ROOT/'dvc.yaml'
                for o in st.outs]
    for p in outs:
        p = Path(p)
        if p.is_relative_to(ROOT/'outputs'):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    return outs


def main():
    clear_outputs()
    t_full, _ = run(*DVC, 'repro', '-f')
    first = snapshot()
    t_noop, noop_log = run(*DVC, 'repro')
    params = (ROOT/'params.yaml').read_text()
    try:
        (ROOT/'params.yaml').write_text(re.sub(r'(\n  epochs: )(\d+)', lambda m: f'{m.group(1)}{int(m.group(2)) + 1}', params, count=1))
        _, dry = run(*DVC, 'repro', '--dry')
    finally:
        (ROOT/'params.yaml').write_text(params)
    rerun = re.findall(r"Running stage '([^']+)'", dry)
    clear_outputs()
    t_full2, _ = run(*DVC, 'repro', '-f')
    second = snapshot()
    differing = sorted(k for k in first.keys() | second.keys() if first.get(k) != second.get(k))
    _, stages = run(*DVC, 'stage', 'list', '--name-only')
    cpu = next((l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('model name')), platform.processor()) if Path('/proc/cpuinfo').exists() else platform.processor()
    rows = [("`dvc repro -f` from scratch (default pipeline's outputs/ removed)", f'{t_full:.0f} s', '≤ 600 s', t_full <= 600),
            ('second `dvc repro -f` from scratch', f'{t_full2:.0f} s', '≤ 600 s', t_full2 <= 600),
            ('`dvc repro` with nothing changed', f'{t_noop:.1f} s', '≤ 10 s', t_noop <= 10 and 'up to date' in noop_log),
            ('stages re-run after changing `resnet18.epochs`', ', '.join(rerun), 'train_resnet18, evaluate and later stages only',
             'demo_data' not in rerun and 'splits' not in rerun and 'train_resnet18' in rerun),
            ('result files differing between the two `-f` runs', ', '.join(differing) or 'none', 'none', not differing)]
    md = [f"# Pipeline budgets: full re-run, no-op re-run, partial re-run, determinism\n",
          f"Measured by `python tools/bench_pipeline.py` on {os.cpu_count()} cores ({cpu}), torch threads = "
          f"{os.environ.get('OMP_NUM_THREADS', 'default')}. Stages: {', '.join(stages.split())}.\n",
          "| check | measured | target | met |", "|---|---|---|---|"]
    md += [f"| {a} | {b} | {c} | {'yes' if d else '**no**'} |" for a, b, c, d in rows]
    out = ROOT/'results'/'benchmarks'/'pipeline.md'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text('\n'.join(md) + '\n')
    print('\n'.join(md))


if __name__ == '__main__':
    main()
