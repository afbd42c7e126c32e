"""Compare regenerated results with the committed ones, each kind of number within its own tolerance, and name
every file, method and column that moved.

    python tools/compare_results.py                     # the working tree (after `dvc repro`) against HEAD
    python tools/compare_results.py --against REV       # ... against another commit
    python tools/compare_results.py --reference DIR     # ... against a folder laid out like the repository
    python tools/compare_results.py --new DIR ...       # the regenerated run lives in DIR, not in the working tree

Compared: `splits/*.csv` and, under `results/`, every `per_split/*.csv`, `predictions/*.csv`, `summary.csv` and
`metrics.json`; a database the regenerated run has no file of (e.g. CLIVE in a `--new` folder of the demo) is
listed and skipped. Tolerances (README, "Reproducibility"):

- exact: split files, keys (method, repetition, path), counts (`n_*`), text, and the database's own scores;
- classical (the registered NR baselines and their variants, e.g. `niqe_live`): one unit in the last digit written
  (results are written at 6 decimals or 6 significant digits), the room a different rounding of identical
  computations can take;
- codebook (the classical baselines that learn a codebook by mini-batch k-means, CORNIA and HOSA): within
  `CODEBOOK_TOLERANCE`. k-means runs on BLAS and OpenMP, whose order of additions depends on the CPU, so the learned
  words and everything after them move slightly on another machine;
- trained (every other method: deep models): the medians over repetitions within `TRAINED_MEDIAN_TOLERANCE`.
  Training on a CPU is not bit-reproducible across instruction sets, and one repetition's score swings far more
  than the median, so per-repetition values, IQRs, standard deviations and predictions of a trained method are
  listed when they move but not held to a tolerance.

Exit status: 0 when every value is within its tolerance, 1 when something moved beyond it or a file, row or column
is missing or new, 2 on a usage error.
"""
from __future__ import annotations
import argparse, io, json, math, re, subprocess, sys
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
COMPARED = re.compile(r'^splits/[^/]+\.csv$|^results/(?:.+/)?(?:per_split|predictions)/[^/]+\.csv$'
                      r'|^results/(?:.+/)?(?:summary\.csv|metrics\.json)$')
KEYS = {'splits': ['path'], 'per_split': ['method', 'rep'], 'predictions': ['method', 'rep', 'path'],
        'summary': ['method'], 'metrics': ['method']}
EXACT_COLUMNS = {'rep', 'path', 'content_id', 'score'}          # plus every `n_*` count
# Measured (README, "Reproducibility"): the demo's ResNet-18 trained on identical data under two CPU instruction
# sets moved its median SROCC/KROCC/PLCC by up to 0.05 and its median RMSE by 9%; the tolerance is about twice that.
TRAINED_MEDIAN_TOLERANCE = {'srocc': 0.1, 'krocc': 0.1, 'plcc': 0.1, 'rmse': 0.2}   # rmse: relative
CLASSICAL_FALLBACK = {'biqi', 'bliinds2', 'brisque', 'cornia', 'diivine', 'hosa', 'niqe', 'sseq'}
# Measured: HOSA on the demo regenerated on another 2-core machine moved per-repetition SROCC by up to 0.00075, KROCC
# 0.0026, PLCC 0.00022 and predictions 0.0017 (scores on 0..1); the tolerance is about four times the largest move.
CODEBOOK_TOLERANCE = {'srocc': 0.01, 'krocc': 0.01, 'plcc': 0.01, 'pred': 0.01, 'rmse': 0.05}   # rmse: relative
CODEBOOK_FALLBACK = {'cornia', 'hosa'}


def _baselines_registry():
    "iqa_nb's NR_BASELINES registry, or None when iqa_nb cannot be imported (the fallback lists are used then)."
    try:
        from iqa_nb.nr_baselines import NR_BASELINES
        return NR_BASELINES
    except ImportError: return None


def classical_methods() -> set:
    "Names of the registered NR baselines (the classical methods); the fallback list when iqa_nb cannot be imported."
    reg = _baselines_registry()
    return set(CLASSICAL_FALLBACK) if reg is None else set(reg)


def codebook_methods() -> set:
    "Names of the NR baselines of kind 'codebook' (k-means codebooks); the fallback list when iqa_nb cannot be imported."
    reg = _baselines_registry()
    return set(CODEBOOK_FALLBACK) if reg is None else {m for m in reg if reg.info(m).get('kind') == 'codebook'}


# ---- where the two result sets come from ------------------------------------------------------------------------
class FolderResults:
    "Result files under a folder laid out like the repository."
    def __init__(self, root): self.root, self.name = Path(root), str(root)
    def files(self) -> set:
        return {p.relative_to(self.root).as_posix() for p in self.root.rglob('*') if p.is_file()
                and COMPARED.match(p.relative_to(self.root).as_posix())}
    def read(self, rel: str) -> bytes: return (self.root/rel).read_bytes()


class CommitResults:
    "Result files as committed in git at `rev`."
    def __init__(self, rev: str, repo=ROOT):
        self.rev, self.repo, self.name = rev, Path(repo), f'git {rev}'
        self._git('rev-parse', '--verify', f'{rev}^{{commit}}')
    def _git(self, *args) -> bytes:
        r = subprocess.run(['git', '-C', str(self.repo), *args], capture_output=True)
        if r.returncode: raise SystemExit(f"compare_results: git {' '.join(args)}: {r.stderr.decode().strip()}")
        return r.stdout
    def files(self) -> set:
        names = self._git('ls-tree', '-r', '--name-only', self.rev, '--', 'results', 'splits').decode().splitlines()
        return {n for n in names if COMPARED.match(n)}
    def read(self, rel: str) -> bytes: return self._git('show', f'{self.rev}:{rel}')


# ---- tolerances -------------------------------------------------------------------------------------------------
def last_digit_unit(a: float, b: float) -> float:
    "One unit in the last digit written: the 6th decimal, or the 6th significant digit of values of 1 and more."
    top = max(abs(a), abs(b))
    return 10.0 ** (math.floor(math.log10(top)) - 5) if top >= 1 else 1e-6


@dataclass
class Tolerance:
    kind: str            # exact | classical | codebook | trained-median | trained-report
    metric: str = ''
    def _bound(self):
        "The tolerance for this metric from the kind's table (None: not in it); rmse's is relative."
        return {'codebook': CODEBOOK_TOLERANCE, 'trained-median': TRAINED_MEDIAN_TOLERANCE}[self.kind].get(self.metric)
    def allows(self, old: float, new: float) -> bool:
        if self.kind == 'trained-report': return True
        if self.kind == 'exact': return False
        d = abs(new - old)
        # a codebook baseline's column without its own tolerance keeps the classical last-digit rule
        if self.kind == 'classical' or (self.kind == 'codebook' and self._bound() is None):
            return d <= 1.5 * last_digit_unit(old, new)   # 1.5: binary rounding of the unit
        tol = self._bound()
        if tol is None: return True
        return d <= (tol * abs(old) if self.metric == 'rmse' else tol)
    def __str__(self):
        if self.kind == 'exact': return 'exact'
        if self.kind == 'classical': return 'one unit in the last written digit'
        if self.kind == 'trained-report': return 'trained: not held to a tolerance'
        if self.kind == 'codebook' and self._bound() is None: return 'codebook baseline: one unit in the last written digit'
        tol = self._bound()
        bound = f"{'±' if self.metric != 'rmse' else ''}{tol}{' relative' if self.metric == 'rmse' else ''}"
        return f"codebook baseline (k-means): {bound}" if self.kind == 'codebook' else f"trained median: {bound}"


def tolerance_for(table: str, method: str, column: str, classical: set, codebook: set = frozenset()) -> Tolerance:
    if table == 'splits' or column in EXACT_COLUMNS or column.startswith('n_'): return Tolerance('exact')
    if method in codebook or method.split('_')[0] in codebook: return Tolerance('codebook', column.split('_')[0])
    if method in classical or method.split('_')[0] in classical: return Tolerance('classical')
    metric = column.split('_')[0]
    if table == 'metrics' or (table == 'summary' and column.endswith('_median')): return Tolerance('trained-median', metric)
    return Tolerance('trained-report')


# ---- comparing two tables ---------------------------------------------------------------------------------------
@dataclass
class Finding:
    file: str
    method: str
    what: str
    beyond: bool
    skipped: bool = False
    def line(self) -> str:
        return f"{'MOVED ' if self.beyond else 'skip  ' if self.skipped else 'within'}  {self.file}  {self.method}  {self.what}"


def table_kind(rel: str) -> str:
    if rel.startswith('splits/'): return 'splits'
    if rel.endswith('metrics.json'): return 'metrics'
    if rel.endswith('summary.csv'): return 'summary'
    return Path(rel).parent.name            # per_split | predictions


def database_of(rel: str) -> str:
    "The database a result file belongs to: `splits/<db>.csv`, `results/<db>/...`."
    parts = Path(rel).parts
    return Path(rel).stem if parts[0] == 'splits' else parts[1]


def read_table(rel: str, data: bytes) -> pd.DataFrame:
    "The file as a table of the strings written in it (metrics.json: one row per method)."
    if rel.endswith('.json'):
        obj = json.loads(data)
        return pd.DataFrame([{'method': m, **{k: repr(v) for k, v in vals.items()}} for m, vals in obj.items()])
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


def _number(s: str):
    try: return float(Decimal(s.strip()))
    except (InvalidOperation, ValueError, AttributeError): return None


def _same(a: str, b: str) -> bool:
    x, y = _number(a), _number(b)
    if x is not None and y is not None: return x == y or (math.isnan(x) and math.isnan(y))
    return a == b


def compare_tables(rel: str, old: pd.DataFrame, new: pd.DataFrame, classical: set,
                   codebook: set = frozenset()) -> list[Finding]:
    kind = table_kind(rel)
    keys = [k for k in KEYS[kind] if k in old.columns and k in new.columns]
    findings = []
    for side, a, b in (('new', new, old), ('missing', old, new)):
        extra = sorted(set(a.columns) - set(b.columns))
        if extra: findings.append(Finding(rel, '-', f"{side} column(s): {', '.join(extra)}", True))
    if old.duplicated(keys).any() or new.duplicated(keys).any():
        return findings + [Finding(rel, '-', f"rows are not unique by {keys}: compared as whole files", True)]
    merged = old.merge(new, on=keys, how='outer', suffixes=('\0old', '\0new'), indicator=True)
    for side, flag in (('missing', 'left_only'), ('new', 'right_only')):
        rows = merged[merged['_merge'] == flag]
        for method, g in rows.groupby('method') if 'method' in keys else [('-', rows)]:
            if len(g):
                findings.append(Finding(rel, method, f"{side} row(s): {len(g)}, e.g. "
                                        + ', '.join(f'{k}={g.iloc[0][k]}' for k in keys), True))
    both = merged[merged['_merge'] == 'both']
    columns = [c for c in old.columns if c in new.columns and c not in keys]
    for method, g in both.groupby('method') if 'method' in keys else [('-', both)]:
        for col in columns:
            tol = tolerance_for(kind, method, col, classical, codebook)
            moved, beyond, worst = 0, 0, None
            for _, row in g.iterrows():
                a, b = row[col + '\0old'], row[col + '\0new']
                if _same(a, b): continue
                moved += 1
                x, y = _number(a), _number(b)
                d = abs(y - x) if x is not None and y is not None else math.inf
                ok = x is not None and y is not None and not math.isnan(d) and tol.allows(x, y)
                beyond += not ok
                if worst is None or d > worst[0] or math.isnan(d):
                    worst = (d, ', '.join(f'{k}={row[k]}' for k in keys if k != 'method'), a, b)
            if moved:
                d, where, a, b = worst
                size = f'max |Δ| {d:.2g}' if math.isfinite(d) else 'changed'
                n_beyond = f', {beyond} beyond tolerance' if beyond else ''
                findings.append(Finding(rel, method, f"{col}: {moved} of {len(g)} value(s) moved{n_beyond}, {size} at "
                                        f"{where or 'the row'} ({a} → {b}); tolerance: {tol}", beyond > 0))
    return findings


def compare(new_results, old_results, classical: set | None = None, codebook: set | None = None) -> tuple[list[Finding], int]:
    "Findings of `new_results` against `old_results` (FolderResults or CommitResults) and the number of files compared."
    classical = classical_methods() if classical is None else classical
    codebook = codebook_methods() if codebook is None else codebook
    new_files, old_files = new_results.files(), old_results.files()
    regenerated = {database_of(f) for f in new_files}
    findings = [Finding(f'results/{db}/', '-', 'not in the regenerated results: not compared', False, True)
                for db in sorted({database_of(f) for f in old_files} - regenerated)]
    old_files = {f for f in old_files if database_of(f) in regenerated}
    findings += [Finding(f, '-', 'file missing from the regenerated results', True) for f in sorted(old_files - new_files)]
    findings += [Finding(f, '-', f'new file, not in {old_results.name}', True) for f in sorted(new_files - old_files)]
    for rel in sorted(old_files & new_files):
        a, b = old_results.read(rel), new_results.read(rel)
        if a == b: continue
        findings += compare_tables(rel, read_table(rel, a), read_table(rel, b), classical, codebook)
    return findings, len(old_files & new_files)


def main(argv=None) -> int:
    head, tail = __doc__.split('\n\n', 1)
    ap = argparse.ArgumentParser(description=head, epilog=tail, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--new', default=str(ROOT), help='folder holding the regenerated results/ and splits/ (default: the working tree)')
    g = ap.add_mutually_exclusive_group()
    g.add_argument('--against', default='HEAD', help='git revision holding the committed results (default HEAD)')
    g.add_argument('--reference', help='compare against this folder instead of a git revision')
    args = ap.parse_args(argv)
    new = FolderResults(args.new)
    old = FolderResults(args.reference) if args.reference else CommitResults(args.against)
    findings, n = compare(new, old)
    for f in findings: print(f.line())
    bad = [f for f in findings if f.beyond]
    files = sorted({f.file for f in bad})
    if bad:
        print(f"compare_results: {len(bad)} difference(s) beyond tolerance in {len(files)} of {n} compared file(s) "
              f"({new.name} against {old.name}): {', '.join(files)}")
        return 1
    moved = [f for f in findings if not f.skipped]
    print(f"compare_results: {n} file(s) compared ({new.name} against {old.name}); everything within tolerance"
          + (f" ({len(moved)} move(s) within tolerance listed above)" if moved else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
