"""Write the generated parts of the DVC pipelines, so that a stage's dependencies cannot drift from its code.

    python tools/stage_deps.py            # rewrite dvc.yaml and pipelines/*/dvc.yaml in place
    python tools/stage_deps.py --check    # change nothing; exit 1 naming each missing or stale entry

Run it after adding or changing a stage, after changing the imports of a pipeline notebook or of an `iqa_nb`
module, and after changing a `methods` list in params.yaml. tests/test_stage_deps.py fails until you have.

**Code dependencies.** A stage's code is every `.ipynb` or `.py` file its cmd names that is not one of its outs
(`nbs/pipeline/<stage>.ipynb`, `tools/run_stage.py`), plus every `iqa_nb` module those files import, followed
transitively and statically (`ast`; nothing is imported or run): `import`/`from` statements anywhere, also inside
functions; relative imports (`from . import x`, `from .x import y`, `from ..core import z`); names taken from a
package that are modules (`from iqa_nb.training import backbones`); string constants that name a module, as in
`importlib.import_module('iqa_nb.demo')`; the `__init__.py` of each package on the way, unless running it only
defines constants and functions (`__version__`, a lazy `__getattr__`: a version bump changes no result) and no
name is taken from it; and, for an attribute that a module-level `__getattr__` imports on first use
(`from iqa_nb import predict`), the module it names.
The tool owns the deps under `iqa_nb/`, `nbs/` and `tools/`: it writes them first (the notebooks the cmd runs, its
scripts, then the modules, sorted) and keeps every other dep (data, other stages' outputs) in its order, with its
comments. A dep written with `${...}` is the contributor's: it is kept, and counts for the file it resolves to.

**Per-method outs.** A stage whose cmd passes `methods ${KEY}` and `results_dir DIR` writes, through
`iqa_nb.protocol.write_method_results`, `DIR/per_split/<method>.csv` and `DIR/predictions/<method>.csv` for each
method of the comma-separated list KEY. The tool writes those outs (`cache: false`) from the params value, where
the first of them stood. DVC's templating cannot: `outs` must be a literal list in dvc.yaml (`outs: ${a_list}`
fails validation with "expected a list"), and `foreach` would split the stage, whose methods share one feature
cache and one executed notebook.

**foreach / matrix.** One definition serves every instance, so its `do:` block gets the union of what the instances
need, less what each instance's `${item}` deps already name (`nbs/pipeline/train_${item}.ipynb`).
"""
from __future__ import annotations

import argparse, ast, copy, difflib, json, os, re, shlex, sys, types
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = 'iqa_nb'
OWNED_PREFIXES = ('iqa_nb', 'nbs', 'tools')  # deps under these folders are code: the tool writes them
CODE_SUFFIXES = ('.ipynb', '.py')
MODULE_STRING = re.compile(rf'{PACKAGE}(\.[A-Za-z_]\w*)+')


class StageDepsError(Exception):
    "A dvc.yaml or a stage's code that the tool cannot analyse; the message names the file and the stage."


def dvc_files(root: Path = ROOT) -> list[Path]:
    "The pipelines: dvc.yaml at the root (the default `dvc repro`) and every pipelines/**/dvc.yaml."
    return [p for p in [root/'dvc.yaml'] if p.is_file()] + sorted((root/'pipelines').glob('**/dvc.yaml'))


def _rel(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


# ---------------------------------------------------------------------------------------------------------------
# What a file imports
# ---------------------------------------------------------------------------------------------------------------

def _ipython_to_python(src: str) -> str:
    "A notebook cell as the kernel runs it: `%magic` and `!shell` lines become Python calls (IPython's own transformer)."
    try: from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:   # without IPython: blank the magic and shell lines (they import nothing from the package)
        if src.lstrip().startswith('%%'): return ''
        return '\n'.join('' if line.lstrip().startswith(('%', '!')) else line for line in src.splitlines())
    return TransformerManager().transform_cell(src)


def _python_sources(path: Path) -> list[tuple[str, str]]:
    "(label, Python source) of a `.py` file, or of each code cell of a notebook; markdown is not code."
    if path.suffix != '.ipynb': return [(str(path), path.read_text())]
    cells = []
    for i, cell in enumerate(json.loads(path.read_text())['cells']):
        if cell['cell_type'] != 'code': continue
        src = cell['source'] if isinstance(cell['source'], str) else ''.join(cell['source'])
        cells.append((f'{path} (code cell {i})', _ipython_to_python(src)))
    return cells


def _parse(path: Path) -> list[ast.Module]:
    trees = []
    for label, src in _python_sources(path):
        try: trees.append(ast.parse(src))
        except SyntaxError as e: raise StageDepsError(f"{label}: cannot parse line {e.lineno}: {e.msg}") from None
    return trees


def _is_inert(tree: ast.Module) -> bool:
    """True when running a package's `__init__.py` only defines constants and functions (`__version__ = '0.1.0'`, a
    lazy `__getattr__`): implicitly run as the parent of a submodule, it cannot change a result."""
    def constant(v):
        if isinstance(v, ast.Dict): return all(k is not None and constant(k) for k in v.keys) and all(map(constant, v.values))
        return isinstance(v, ast.Constant) or (isinstance(v, (ast.Tuple, ast.List, ast.Set)) and all(map(constant, v.elts)))
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant): continue
        if isinstance(stmt, ast.ImportFrom) and stmt.module == '__future__': continue
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and not stmt.decorator_list: continue
        targets = (stmt.targets if isinstance(stmt, ast.Assign) else
                   [stmt.target] if isinstance(stmt, ast.AnnAssign) else None)
        if targets and all(isinstance(t, ast.Name) for t in targets) and (stmt.value is None or constant(stmt.value)):
            continue
        return False
    return True


def _module_name(path: Path, root: Path) -> str|None:
    "`iqa_nb.training.backbones` for iqa_nb/training/backbones.py, `iqa_nb.training` for its __init__.py, else None."
    parts = Path(os.path.relpath(path, root)).with_suffix('').parts
    if not parts or parts[0] != PACKAGE: return None
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _absolute(module: str|None, level: int, package: str|None) -> str|None:
    "The absolute name of `from <level dots><module> import ...` written in `package`."
    if level == 0: return module
    if package is None: return None  # a relative import outside a package fails at run time anyway
    base = package.split('.')
    if level - 1 >= len(base): return None
    base = base[:len(base) - (level - 1)]
    return '.'.join(base + ([module] if module else []))


@dataclass(frozen=True)
class Imports:
    "What a file refers to. `eager`: modules running it may import (some of the names are objects: resolution drops them)."
    eager: tuple[str, ...]
    lazy: tuple[tuple[str, str], ...] = ()   # (attribute or '*', module) a module-level __getattr__ imports on first use


def _module_strings(tree, package) -> list[str]:
    "Module names written as strings: `import_module('iqa_nb.demo')`, a tuple of such names, `import_module('.x', pkg)`."
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_STRING.fullmatch(node.value):
            names.append(node.value)
        elif (isinstance(node, ast.Call) and getattr(node.func, 'attr', getattr(node.func, 'id', None)) == 'import_module'
              and node.args and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith('.')):
            rel = str(node.args[0].value)
            target = _absolute(rel.lstrip('.') or None, len(rel) - len(rel.lstrip('.')), package)
            if target: names.append(target)
    return names


def _statement_imports(nodes, package) -> list[str]:
    "Names that import statements and dotted attribute uses (`iqa_nb.predict(...)` after `import iqa_nb`) refer to."
    names, aliases = [], {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for a in node.names:
                names.append(a.name)
                aliases[a.asname or a.name.split('.')[0]] = a.name if a.asname else a.name.split('.')[0]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            if base is None: continue
            names.append(base)
            names += [f'{base}.{a.name}' for a in node.names if a.name != '*']  # a submodule, or a (lazy) attribute
    for node in nodes:   # `pkg.name` where pkg is an imported module: name may be a submodule or a lazy attribute
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            names.append(f'{aliases[node.value.id]}.{node.attr}')
    return names


@lru_cache(maxsize=None)
def referenced_modules(path: Path, root: Path) -> Imports:
    """What `path` imports. In a module with a module-level `__getattr__` (PEP 562: `iqa_nb.predict` imported on first
    use) the module names written as strings, and the imports inside `__getattr__`, are lazy: they count only for
    files that take that attribute."""
    name = _module_name(path, root)
    package = (name if path.name == '__init__.py' else name.rpartition('.')[0]) if name else None
    eager, lazy = [], []
    for tree in _parse(path):
        getattr_fn = next((s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == '__getattr__'), None)
        inside = set(map(id, ast.walk(getattr_fn))) if getattr_fn else set()
        eager += _statement_imports([n for n in ast.walk(tree) if id(n) not in inside], package)
        strings = _module_strings(tree, package)
        if getattr_fn is None:
            eager += strings
            continue
        named = {}   # {'predict': 'iqa_nb.training.predict'} in a dict literal: that attribute, that module
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values):
                    if isinstance(k, ast.Constant) and isinstance(v, ast.Constant) and v.value in strings:
                        named.setdefault(v.value, []).append(str(k.value))
        lazy += [(attr, m) for m in strings for attr in named.get(m, ['*'])]
        lazy += [('*', m) for m in _statement_imports(list(ast.walk(getattr_fn)), package)]
    return Imports(tuple(dict.fromkeys(eager)), tuple(dict.fromkeys(lazy)))


@lru_cache(maxsize=None)
def _is_inert_file(path: Path) -> bool:
    return all(_is_inert(t) for t in _parse(path))


def files_run_by_import(name: str, root: Path, importer: Path) -> list[Path]:
    """The files that importing `name` (or taking attribute `name`) executes and whose change can change a result:
    the non-inert `__init__.py` of each package on the way, the module itself, and the module a lazy `__getattr__`
    imports for that attribute. Names outside `iqa_nb` give nothing, except a module beside an importing script
    (Python puts a script's folder on sys.path)."""
    if name.split('.')[0] == PACKAGE: return list(_package_files(name, root))
    beside = importer.parent/f"{name.split('.')[0]}.py"
    return [beside] if importer.suffix == '.py' and _module_name(importer, root) is None and beside.is_file() else []


@lru_cache(maxsize=None)
def _package_files(name: str, root: Path, _seen: frozenset = frozenset()) -> tuple[Path, ...]:
    parts = name.split('.')
    files, here, last = [], root, None
    for i, part in enumerate(parts):
        here = here/part
        if (here/'__init__.py').is_file():
            last = here/'__init__.py'
            if not _is_inert_file(last): files.append(last)
        elif here.with_suffix('.py').is_file() and (last is None or last.name == '__init__.py'):
            last = here.with_suffix('.py'); files.append(last)
        else:   # not a module: a name taken from the module above (even an inert __init__), or one its
                # __getattr__ imports on first use
            if last: files.append(last)
            lazy = referenced_modules(last, root).lazy if last else ()
            targets = [m for attr, m in lazy if attr == part] or [m for attr, m in lazy if attr == '*']
            for m in targets:
                if m not in _seen: files += _package_files(m, root, _seen | {name})
            break
    return tuple(dict.fromkeys(files))


def code_closure(entries: list[Path], root: Path = ROOT) -> dict[str, list[str]]:
    """{repo-relative file: how it is reached} for the entry files and every file they import, transitively.
    The chain starts with the entry file and lists module names, e.g. [nbs/pipeline/splits.ipynb, iqa_nb.databases]."""
    chains = {_rel(e, root): [_rel(e, root)] for e in entries}
    queue = list(entries)
    while queue:
        f = queue.pop(0)
        for name in referenced_modules(f, root).eager:
            for g in files_run_by_import(name, root, f):
                key = _rel(g, root)
                if key not in chains:
                    chains[key] = chains[_rel(f, root)] + [_module_name(g, root) or key]
                    queue.append(g)
    return chains


# ---------------------------------------------------------------------------------------------------------------
# What a stage runs, and what DVC resolves it to
# ---------------------------------------------------------------------------------------------------------------

def _load(text: str):
    return yaml.load(text, Loader=getattr(yaml, 'CSafeLoader', yaml.SafeLoader)) or {}


def resolve_stages(dvc_path: Path, text: str|dict) -> dict[str, dict]:
    "DVC's own resolution of `vars`, `${...}`, `foreach` and `matrix`: {stage name (`name@key` for instances): definition}."
    from dvc.fs import LocalFileSystem
    from dvc.parsing import DataResolver
    from dvc.schema import COMPILED_MULTI_STAGE_SCHEMA
    repo = types.SimpleNamespace(fs=LocalFileSystem(), config={})   # all the resolver reads of a Repo
    try:
        d = COMPILED_MULTI_STAGE_SCHEMA(_load(text) if isinstance(text, str) else text)   # what `dvc status` checks first
        return DataResolver(repo, str(dvc_path.parent.resolve()), d).resolve().get('stages', {})
    except Exception as e: raise StageDepsError(f"{dvc_path}: DVC rejects it: {e}") from None


def _paths(entries) -> list[str]:
    "The path of each dep/out entry, whether written `path` or `path: {options}`."
    return [next(iter(e)) if isinstance(e, dict) else str(e) for e in entries or []]


def _cmd_tokens(cmd) -> list[str]:
    return shlex.split(' && '.join(cmd) if isinstance(cmd, list) else str(cmd))


def stage_entries(stage: str, cmd, wdir: Path, outs: set[Path], root: Path) -> list[Path]:
    "The code files a stage's cmd runs: each `.ipynb`/`.py` it names that is not an out, and `python -m iqa_nb...` modules."
    found, tokens = [], _cmd_tokens(cmd)
    for i, tok in enumerate(tokens):
        path = None
        if tok.endswith(CODE_SUFFIXES):
            path = (wdir/tok).resolve()
            if path in outs: continue
            if not path.is_file():
                raise StageDepsError(f"{stage}: its cmd names {tok}, which is neither a file nor one of its outs")
        elif i and tokens[i - 1] == '-m' and tok.split('.')[0] == PACKAGE:
            path = next(iter(files_run_by_import(tok, root, root/'dvc.yaml')[-1:]), None)
        if path and path not in found: found.append(path)
    if not found: raise StageDepsError(f"{stage}: its cmd runs no notebook or Python file that the tool can read")
    return found


def _owned(path: str) -> bool:
    return path.split('/')[0] in OWNED_PREFIXES


def _option(tokens: list[str], key: str) -> str|None:
    "The value after `-p key` / `-r key` (papermill) in a tokenised cmd."
    for i in range(1, len(tokens) - 1):
        if tokens[i] == key and tokens[i - 1] in ('-p', '-r', '--parameters', '--parameters_raw'): return tokens[i + 1]
    return None


# ---------------------------------------------------------------------------------------------------------------
# What each stage definition needs
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class Definition:
    "One stage definition of a dvc.yaml (a plain stage, or the `do:` block of a foreach/matrix group) and its needs."
    name: str
    body: dict                                        # the definition as written
    wdir: Path|None = None                            # resolved working directory of its instances
    entries: list[str] = field(default_factory=list)  # files its cmd runs, repo-relative, in cmd order
    modules: set[str] = field(default_factory=set)    # files they import, repo-relative
    method_outs: list[str]|None = None                # per-method outs as written; None where the rule does not apply
    method_dir: str|None = None                       # the cmd's results_dir, as written
    missing: list[str] = field(default_factory=list)  # one sentence per code file an instance needs and lacks

    def written(self, path: str, root: Path) -> str:
        return Path(os.path.relpath(root/path, self.wdir)).as_posix()

    def code_deps(self, root: Path) -> list[str]:
        "The generated code deps as written in dvc.yaml: the notebooks the cmd runs, its scripts, then the modules, sorted."
        entries = sorted(self.entries, key=lambda p: not p.endswith('.ipynb'))  # stable: cmd order within each kind
        return [self.written(p, root) for p in entries + sorted(self.modules - set(self.entries))]


def analyse(dvc_path: Path, text: str|None = None, root: Path = ROOT) -> dict[str, Definition]:
    "Every stage definition of `dvc_path` (or of `text`, read as that file): its generated parts and the deps it lacks."
    text = dvc_path.read_text() if text is None else text
    where = _rel(dvc_path, root)
    loaded = _load(text)
    raw = loaded.get('stages') or {}
    defs = {name: Definition(name, (d.get('do') if 'foreach' in d or 'matrix' in d else d) or {}) for name, d in raw.items()}
    for inst_name, inst in resolve_stages(dvc_path, copy.deepcopy(loaded)).items():
        d = defs[inst_name if inst_name in defs else inst_name.rsplit('@', 1)[0]]
        wdir = (dvc_path.parent/inst.get('wdir', '.')).resolve()
        if d.wdir is None: d.wdir = wdir
        elif d.wdir != wdir: raise StageDepsError(f"{where}: instances of {d.name!r} run in different folders")
        outs = {(wdir/p).resolve() for key in ('outs', 'metrics', 'plots') for p in _paths(inst.get(key))}
        entries = stage_entries(f'{where}, stage {inst_name!r}', inst.get('cmd', ''), wdir, outs, root)
        needed = code_closure(entries, root)
        # a dep written with ${...} is the contributor's: it counts, but the tool neither writes nor removes it
        raw_deps, deps = _paths(d.body.get('deps')), [_rel((wdir/p).resolve(), root) for p in _paths(inst.get('deps'))]
        templated = {p for r, p in zip(raw_deps, deps) if '${' in r}
        for path, chain in needed.items():
            if path not in deps:
                runs = ', '.join(_rel(e, root) for e in entries)
                why = (f"its cmd runs {path}" if len(chain) == 1 else f"{chain[0]} imports {path}"
                       + (f" (through {' -> '.join(chain[1:-1])})" if len(chain) > 2 else ''))
                d.missing.append(f"{where}, stage {inst_name!r} (runs {runs}): {why}, but the stage does not depend on it")
            if path in templated: continue
            if len(chain) == 1:
                if path not in d.entries: d.entries.append(path)
            else: d.modules.add(path)
        methods = _option(_cmd_tokens(inst.get('cmd', '')), 'methods')
        method_dir = _option(_cmd_tokens(d.body.get('cmd', '')), 'results_dir')
        if methods is not None and method_dir is not None:
            method_outs = [f'{method_dir}/{kind}/{m.strip()}.csv' for m in methods.split(',') if m.strip()
                           for kind in ('per_split', 'predictions')]
            if d.method_outs not in (None, method_outs):
                raise StageDepsError(f"{where}: instances of {d.name!r} differ in `methods`: "
                                     "one definition cannot list their outs")
            d.method_outs, d.method_dir = method_outs, method_dir
    return defs


# ---------------------------------------------------------------------------------------------------------------
# Rewriting dvc.yaml: only the generated entries change; every other line, comment and order stays
# ---------------------------------------------------------------------------------------------------------------

def _find(mapping, key: str):
    for k, v in mapping.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key: return k, v
    return None, None


def _last_line(node) -> int:
    if isinstance(node, yaml.MappingNode) and node.value: return _last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value: return _last_line(node.value[-1])
    end = node.end_mark
    return end.line - 1 if end.column == 0 and end.line > node.start_mark.line else end.line


def _yaml_path(path: str) -> str:
    return path if re.fullmatch(r'[\w./${}@+-]+', path) else json.dumps(path)


def _item_path(item) -> str:
    return item.value if isinstance(item, yaml.ScalarNode) else str(item.value[0][0].value)


def _rewrite_list(lines: list[str], where: str, body, key: str, owned, generated, at_start, after_keys: tuple):
    """An edit (first line, last line, new lines) that puts `generated` (paths, or (path, options) pairs) into list
    `key` of the mapping node `body` in place of the items `owned(path)` selects; None when nothing is to write.
    The generated items go where the first owned item stood or, when `at_start(path)` is given, after the leading
    items it selects."""
    knode, seq = _find(body, key)
    def render(ind):
        out = []
        for g in generated:
            if isinstance(g, tuple):
                out.append(f'{ind}- {_yaml_path(g[0])}:\n')
                out += [f'{ind}    {k}: {v}\n' for k, v in g[1].items()]
            else: out.append(f'{ind}- {_yaml_path(g)}\n')
        return out
    if (seq is None or (isinstance(seq, yaml.ScalarNode) and seq.value in ('', '~', 'null'))
            or (isinstance(seq, yaml.SequenceNode) and not seq.value)):
        if not generated: return None
        if knode is not None:   # `deps:` or `deps: []`, with nothing under it
            ind = ' ' * knode.start_mark.column
            return knode.start_mark.line, knode.start_mark.line, [f'{ind}{key}:\n'] + render(ind + '  ')
        # no such key: insert it after the first of `after_keys` present, before the next key and its comments
        akey, aval = next((kv for kv in (_find(body, k) for k in after_keys) if kv[0] is not None), (None, None))
        if akey is None: raise StageDepsError(f"{where}: none of {', '.join(after_keys)}")
        ind = ' ' * akey.start_mark.column
        keys = [k for k, _ in body.value]
        at = _last_line(aval) + 1
        i = keys.index(akey)
        if i + 1 < len(keys):
            at = keys[i + 1].start_mark.line
            while at > 0 and lines[at - 1].lstrip().startswith('#'): at -= 1
        return at, at - 1, [f'{ind}{key}:\n'] + render(ind + '  ')
    if not isinstance(seq, yaml.SequenceNode) or seq.flow_style:
        raise StageDepsError(f"{where}: write `{key}` as a block list (one `- path` a line)")
    spans, prev_end = [], knode.start_mark.line
    for item in seq.value:  # (first line with its comments, first content line, last line, path)
        spans.append((prev_end + 1, item.start_mark.line, _last_line(item), _item_path(item)))
        prev_end = spans[-1][2]
    first_item = lines[spans[0][1]]
    gen = render(' ' * (len(first_item) - len(first_item.lstrip())))
    owned_comments = [l for c0, s, e, p in spans if owned(p) for l in lines[c0:s]]
    out, placed = [], False
    for c0, s, e, p in spans:
        if at_start and not placed and not at_start(p): out.append('<generated>'); placed = True
        if owned(p):
            if not placed: out.append('<generated>'); placed = True
        else: out += lines[c0:e + 1]
    if not placed: out.append('<generated>')
    i = out.index('<generated>')
    out[i:i + 1] = owned_comments + gen
    first, last = spans[0][0], spans[-1][2]
    return (None if out == lines[first:last + 1] else (first, last, out))


def rewrite(dvc_path: Path, text: str|None = None, root: Path = ROOT) -> tuple[str, dict[str, Definition]]:
    "The text of `dvc_path` with its generated parts up to date, and the analysis it rests on."
    text = dvc_path.read_text() if text is None else text
    where = _rel(dvc_path, root)
    defs = analyse(dvc_path, text, root)
    lines = text.splitlines(keepends=True)
    _, stages = _find(yaml.compose(text), 'stages')
    edits = []
    for knode, node in (stages.value if stages is not None else []):
        d = defs[knode.value]
        if d.wdir is None: continue   # a foreach over nothing: no instance, nothing to list
        body = _find(node, 'do')[1] if (_find(node, 'foreach')[0] or _find(node, 'matrix')[0]) else node
        own_dir = lambda p, d=d: '${' not in p and _owned(_rel((d.wdir/p).resolve(), root))
        # a templated code dep (`nbs/pipeline/${item}.ipynb`) heading the list stays at its head
        lead = lambda p: '${' in p and _owned(p.split('${')[0] or '${')
        e = _rewrite_list(lines, f'{where}, stage {d.name!r}', body, 'deps', own_dir, d.code_deps(root), lead, ('cmd',))
        if e: edits.append(e)
        if d.method_outs is not None:
            pattern = re.compile(rf'{re.escape(d.method_dir)}/(per_split|predictions)/[^/]+\.csv')
            outs = [(p, {'cache': 'false'}) for p in d.method_outs]
            e = _rewrite_list(lines, f'{where}, stage {d.name!r}', body, 'outs', pattern.fullmatch, outs, None,
                              ('params', 'deps', 'cmd'))
            if e: edits.append(e)
    # from the bottom up, so that line numbers hold; of two insertions at one line, the later one goes in first
    for (first, last, new), _ in sorted(zip(edits, range(len(edits))), key=lambda e: (e[0][0], e[1]), reverse=True):
        lines[first:last + 1] = new
    return ''.join(lines), defs


def stale(dvc_path: Path, text: str, defs: dict[str, Definition], root: Path = ROOT) -> list[str]:
    "One sentence per code dep a definition lists but does not need, and per per-method out out of step with params."
    where, found = _rel(dvc_path, root), []
    for d in defs.values():
        code = set(d.code_deps(root))
        for p in _paths(d.body.get('deps')):
            if '${' not in p and _owned(_rel((d.wdir/p).resolve(), root)) and p not in code:
                found.append(f"{where}, stage {d.name!r}: depends on {p}, which its code does not run or import")
        if d.method_outs is not None:
            pattern = re.compile(rf'{re.escape(d.method_dir)}/(per_split|predictions)/[^/]+\.csv')
            listed = [p for p in _paths(d.body.get('outs')) if pattern.fullmatch(p)]
            found += [f"{where}, stage {d.name!r}: outs lack {p}, written for a method of its `methods`"
                      for p in d.method_outs if p not in listed]
            found += [f"{where}, stage {d.name!r}: outs name {p}, but its `methods` do not include that method"
                      for p in listed if p not in d.method_outs]
    return found


def check(root: Path = ROOT) -> list[str]:
    "Every problem of every pipeline: missing or stale code deps, per-method outs out of step, layout out of date."
    problems = []
    for path in dvc_files(root):
        text = path.read_text()
        new, defs = rewrite(path, text, root)
        found = [m for d in defs.values() for m in d.missing] + stale(path, text, defs, root)
        if new != text and not found:
            diff = difflib.unified_diff(text.splitlines(), new.splitlines(), _rel(path, root), 'generated', lineterm='', n=1)
            found.append(f"{_rel(path, root)}: generated parts out of date (order or layout):\n" + '\n'.join(diff))
        problems += found
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--check', action='store_true', help='change nothing; exit 1 naming what is missing or stale')
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check()
            if problems:
                print('\n'.join(problems) + '\n\nrun: python tools/stage_deps.py'); return 1
            print(f"stage deps up to date: {', '.join(_rel(p, ROOT) for p in dvc_files())}"); return 0
        for path in dvc_files():
            text = path.read_text()
            new, _ = rewrite(path, text)
            if new != text: path.write_text(new)
            print(f"{_rel(path, ROOT)}: {'rewritten' if new != text else 'up to date'}")
        return 0
    except StageDepsError as e:
        print(f"stage_deps: {e}", file=sys.stderr); return 2


if __name__ == '__main__':
    sys.exit(main())
