"""Build the docs site offline with Sphinx + myst-nb (Quarto, which nbdev_docs needs, cannot be installed here).

Library notebooks (nbs/NN_*.ipynb, nbs/training/, nbs/methods/...) are stored without outputs: their nbdev `#|` directives are honoured here
(hide / export cells) and they are executed during the build, so a page that fails to run fails the build.
Pipeline and benchmark notebooks are taken as executed by DVC (results/), never re-executed.
MathJax is served from the site itself (npm's mathjax@3), since the default CDN is unreachable offline.

    python tools/build_docs.py            # -> docs/_build/html/index.html
"""
import json, re, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC, OUT = ROOT/'docs'/'_src', ROOT/'docs'/'_build'/'html'
MATHJAX = ROOT/'.cache'/'npm'/'node_modules'/'mathjax'


def directives(source: str) -> dict:
    "nbdev `#| key value` directives at the top of a cell."
    found = {}
    for line in source.splitlines():
        m = re.match(r'^#\|\s*([\w-]+)\s*(.*)$', line.strip())
        if m: found[m.group(1)] = m.group(2).strip()
        elif line.strip(): break
    return found


def strip_nbdev(nb: dict) -> dict:
    "Honour nbdev directives with myst-nb cell tags: hidden cells run unseen, eval:false and test-flagged cells are shown but not run."
    cells = []
    for cell in nb['cells']:
        src = ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']
        if cell['cell_type'] == 'code':
            d = directives(src)
            tags = set(cell.get('metadata', {}).get('tags', []))
            if 'hide' in d or 'default_exp' in d: tags.add('remove-cell')
            if d.get('eval:', d.get('eval', '')).endswith('false') or {'slow', 'notest'} & set(d): tags.add('skip-execution')
            src = '\n'.join(l for l in src.splitlines() if not l.strip().startswith('#|')).strip('\n')
            if not src: continue
            cell.setdefault('metadata', {})['tags'] = sorted(tags)
        cell['source'] = src
        cells.append(cell)
    nb['cells'] = cells
    return nb


def title_of(nb_path: Path) -> str:
    if nb_path.suffix == '.md':
        m = re.search(r'^#\s+(.+)$', nb_path.read_text(), re.M)
        return m.group(1).strip() if m else nb_path.stem
    nb = json.loads(nb_path.read_text())
    for c in nb['cells']:
        if c['cell_type'] == 'markdown':
            src = ''.join(c['source'])
            m = re.search(r'^#\s+(.+)$', src, re.M)
            if m: return m.group(1).strip()
    return nb_path.stem


# pages written by the `leaderboard` and `reproduction_status` stages, shown first in the site
OVERVIEW_PAGES = ('leaderboard.md', 'reproduction_status.md')
# nbs/ sub-folders that hold no library notebooks: DVC stages (executed copies come from results/) and benchmarks
NOT_LIBRARY = {'pipeline', 'benchmarks'}
SECTIONS = {'': 'Library', 'training': 'Library: shared training machinery', 'methods': 'Library: the five methods',
            'compat': 'Library: old import paths'}


def library_notebooks() -> list:
    "Library notebooks of nbs/ and its sub-folders (training/, methods/, ...), in path order."
    return sorted(p for p in (ROOT/'nbs').rglob('*.ipynb')
                  if not p.name.startswith('_') and '.ipynb_checkpoints' not in p.parts
                  and p.relative_to(ROOT/'nbs').parts[0] not in NOT_LIBRARY)


def library_sections(lib: list) -> list:
    "(caption, notebooks) per nbs/ folder: the top level first, then the sub-folders in SECTIONS order."
    by_folder = {}
    for p in lib:
        rel = p.relative_to(ROOT/'nbs')
        by_folder.setdefault(rel.parts[0] if len(rel.parts) > 1 else '', []).append(p)
    order = list(SECTIONS) + sorted(set(by_folder) - set(SECTIONS))
    return [(SECTIONS.get(f, f'Library: {f}'), by_folder[f]) for f in order if f in by_folder]


def reference_pages() -> list:
    "Pages of docs/ other than the index (e.g. references.md, the bibliography): the Reference section of the toc."
    return sorted(p.stem for p in (ROOT/'docs').glob('*.md') if p.name != 'index.md')


def ensure_mathjax():
    if (MATHJAX/'es5'/'tex-mml-chtml.js').is_file(): return True
    try:
        subprocess.run(['npm', 'install', '--no-save', '--no-audit', '--no-fund', '--prefix', str(ROOT/'.cache'/'npm'),
                        'mathjax@3'], check=True, capture_output=True, timeout=300)
        return (MATHJAX/'es5'/'tex-mml-chtml.js').is_file()
    except Exception as e:
        print(f"docs: MathJax could not be installed from npm ({e}); equations will show as TeX", file=sys.stderr)
        return False


def main():
    if SRC.exists(): shutil.rmtree(SRC)
    (SRC/'lib').mkdir(parents=True); (SRC/'api').mkdir()
    for page in (ROOT/'docs').glob('*.md'): shutil.copy(page, SRC/page.name)
    shutil.copy(ROOT/'README.md', SRC/'readme.md')
    lib = library_notebooks()
    for p in lib:
        nb = strip_nbdev(json.loads(p.read_text()))
        dst = SRC/'lib'/p.relative_to(ROOT/'nbs'); dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(json.dumps(nb, indent=1))
    results = sorted(p for p in (ROOT/'results').rglob('*.ipynb'))
    for p in results:
        dst = SRC/'results'/p.relative_to(ROOT/'results')
        dst.parent.mkdir(parents=True, exist_ok=True); shutil.copy(p, dst)
    # benchmark reports written as markdown (e.g. tools/bench_pipeline.py) are pages of the Benchmarks section
    bench_md = sorted((ROOT/'results'/'benchmarks').glob('*.md'))
    for p in bench_md:
        dst = SRC/'results'/'benchmarks'/p.name; dst.parent.mkdir(parents=True, exist_ok=True); shutil.copy(p, dst)
    # the generated overview pages (stages `leaderboard`, `reproduction_status`) open the site
    overview = [p for p in (ROOT/'results'/name for name in OVERVIEW_PAGES) if p.is_file()]
    (SRC/'results').mkdir(exist_ok=True)
    for p in overview: shutil.copy(p, SRC/'results'/p.name)
    for p in (ROOT/'results').rglob('*.png'):
        dst = SRC/'results'/p.relative_to(ROOT/'results'); dst.parent.mkdir(parents=True, exist_ok=True); shutil.copy(p, dst)
    modules = sorted('.'.join(m.relative_to(ROOT/'iqa_nb').with_suffix('').parts) for m in (ROOT/'iqa_nb').rglob('*.py')
                     if not m.name.startswith('_'))
    for m in modules:
        (SRC/'api'/f'{m}.md').write_text(f"# iqa_nb.{m}\n\n```{{eval-rst}}\n.. automodule:: iqa_nb.{m}\n   :members:\n```\n")
    def toc(caption, entries):
        return f"```{{toctree}}\n:caption: {caption}\n:maxdepth: 1\n\n" + '\n'.join(entries) + "\n```\n\n"
    by_db = {}
    for p in results + bench_md:
        parts = p.relative_to(ROOT/'results').parts
        by_db.setdefault(parts[0] if len(parts) > 1 else 'synthetic sets', []).append(p)
    index = (SRC/'index.md').read_text() if (SRC/'index.md').exists() else '# iqa-nb\n\n'
    if overview: index += toc('Results overview', [f"results/{p.stem}" for p in overview])
    index += toc('Start here', ['readme'])
    for section, ps in library_sections(lib):
        index += toc(section, [f"{title_of(p)} <lib/{p.relative_to(ROOT/'nbs').with_suffix('').as_posix()}>" for p in ps])
    for db, ps in sorted(by_db.items()):
        cap = 'Benchmarks' if db == 'benchmarks' else f'Results: {db}'
        index += toc(cap, [f"{title_of(p)} <results/{p.relative_to(ROOT/'results').with_suffix('').as_posix()}>" for p in ps])
    index += toc('Reference', reference_pages())
    index += toc('API', [f"api/{m}" for m in modules])
    (SRC/'index.md').write_text(index)
    extra = {}
    if ensure_mathjax():
        shutil.copytree(MATHJAX/'es5', SRC/'_static'/'mathjax'/'es5')
        extra['mathjax_path'] = 'mathjax/es5/tex-mml-chtml.js'
    (SRC/'_extra_conf.json').write_text(json.dumps(extra))
    cmd = [sys.executable, '-m', 'sphinx', '-b', 'html', '-q', '-c', str(ROOT/'docs'), str(SRC), str(OUT)]
    subprocess.run(cmd, check=True, cwd=ROOT)
    print(f"docs: {OUT/'index.html'}")


if __name__ == '__main__':
    main()
