"""Every DVC stage depends on the code it runs: its notebook, tools/run_stage.py and every iqa_nb module they import,
transitively (tools/stage_deps.py writes those deps; these tests fail when a dvc.yaml drifts from the code).
Static analysis only: nothing is imported or run."""
import difflib, importlib.util, json, sys, textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location('stage_deps', ROOT/'tools'/'stage_deps.py')
sd = importlib.util.module_from_spec(_spec)
sys.modules['stage_deps'] = sd   # dataclasses look their module up by name
_spec.loader.exec_module(sd)

PIPELINES = sd.dvc_files(ROOT)
FIX = '\nrun `python tools/stage_deps.py` (it rewrites the generated deps and per-method outs) and commit the result'


def _ids(p): return p.relative_to(ROOT).as_posix()


def test_both_pipelines_are_checked():
    assert {'dvc.yaml', 'pipelines/clive/dvc.yaml'} <= {_ids(p) for p in PIPELINES}


@pytest.mark.parametrize('dvc_path', PIPELINES, ids=_ids)
def test_every_stage_depends_on_what_it_imports(dvc_path):
    missing = [m for d in sd.analyse(dvc_path).values() for m in d.missing]
    assert not missing, '\n' + '\n'.join(missing) + FIX


@pytest.mark.parametrize('dvc_path', PIPELINES, ids=_ids)
def test_generated_parts_are_up_to_date(dvc_path):
    "No stale code dep, per-method outs in step with params.yaml, and the file exactly as the tool writes it."
    text = dvc_path.read_text()
    new, defs = sd.rewrite(dvc_path, text)
    problems = sd.stale(dvc_path, text, defs)
    assert not problems, '\n' + '\n'.join(problems) + FIX
    diff = '\n'.join(difflib.unified_diff(text.splitlines(), new.splitlines(), _ids(dvc_path), 'generated', lineterm=''))
    assert not diff, f'{_ids(dvc_path)}: generated parts out of order or layout:\n{diff}' + FIX


# ---- the check catches a broken copy of the real pipeline (made from the generated text: these tests hold even
# while dvc.yaml itself is out of date, which the tests above report) ----

def _generated(path):
    return sd.rewrite(path)[0]


def _drop_dep(text: str, stage: str, dep: str) -> str:
    "The dvc.yaml text without the line of `dep` in `stage`'s deps."
    _, stages = sd._find(yaml.compose(text), 'stages')
    _, body = sd._find(stages, stage)
    _, deps = sd._find(body, 'deps')
    line = next(item.start_mark.line for item in deps.value if item.value == dep)
    lines = text.splitlines(keepends=True)
    return ''.join(lines[:line] + lines[line + 1:])


def test_a_missing_dependency_is_caught_naming_stage_notebook_and_module():
    path = ROOT/'dvc.yaml'
    text = _generated(path)
    defs = sd.analyse(path, text)
    # a module the notebook reaches only through another module: the case a hand-written list forgets
    stage, module, notebook = next(
        (d.name, m, nb) for d in defs.values() for nb in d.entries if nb.endswith('.ipynb')
        for m, chain in sd.code_closure([ROOT/nb], ROOT).items() if len(chain) > 2)
    missing = [m for d in sd.analyse(path, _drop_dep(text, stage, module)).values() for m in d.missing]
    assert len(missing) == 1, missing
    assert f"stage {stage!r}" in missing[0] and notebook in missing[0] and f'imports {module}' in missing[0]
    assert 'does not depend on it' in missing[0]


def test_a_missing_notebook_or_runner_is_caught():
    path = ROOT/'dvc.yaml'
    text = _generated(path)
    d = next(iter(sd.analyse(path, text).values()))
    notebook = next(e for e in d.entries if e.endswith('.ipynb'))
    for dropped in (notebook, 'tools/run_stage.py'):
        missing = [m for x in sd.analyse(path, _drop_dep(text, d.name, dropped)).values() for m in x.missing]
        assert missing == [f"dvc.yaml, stage {d.name!r} (runs {', '.join(d.entries)}): its cmd runs {dropped}, "
                           "but the stage does not depend on it"]


def test_a_stale_dependency_is_reported():
    path = ROOT/'dvc.yaml'
    text = _generated(path)
    d = next(iter(sd.analyse(path, text).values()))
    unused = next(p.relative_to(ROOT).as_posix() for p in sorted((ROOT/'iqa_nb').glob('*.py'))
                  if p.relative_to(ROOT).as_posix() not in d.code_deps(ROOT) and p.name != '__init__.py')
    first = d.code_deps(ROOT)[0]
    broken = text.replace(f'      - {first}\n', f'      - {first}\n      - {unused}\n', 1)
    problems = sd.stale(path, broken, sd.analyse(path, broken))
    assert problems == [f"dvc.yaml, stage {d.name!r}: depends on {unused}, which its code does not run or import"]


# ---- the analysis, on a miniature repository: sub-packages, relative, lazy and string imports, foreach ----

def _write(root: Path, files: dict):
    for rel, content in files.items():
        p = root/rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith('.ipynb'):
            cells = [{'cell_type': kind, 'metadata': {}, 'source': src, **({'outputs': [], 'execution_count': None}
                      if kind == 'code' else {})} for kind, src in content]
            content = json.dumps({'cells': cells, 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5})
        p.write_text(textwrap.dedent(content))


MINI = {
    'iqa_nb/__init__.py': '__version__ = "0.1.0"\n',                      # inert: a version bump reruns nothing
    'iqa_nb/core.py': 'X = 1\n',
    'iqa_nb/databases.py': '''\
        from .core import X
        def load():
            import importlib
            for mod in ('iqa_nb.demo', 'iqa_nb.loaders'):       # lazy, by name
                importlib.import_module(mod)
        ''',
    'iqa_nb/demo.py': 'from . import core\n',
    'iqa_nb/loaders.py': 'from .databases import load\n',
    'iqa_nb/unused.py': 'import iqa_nb.core\n',
    'iqa_nb/training/__init__.py': '',
    'iqa_nb/training/backbones.py': '''\
        from ..core import X
        def build():
            from ..databases import load      # lazy, relative, two levels
        ''',
    'iqa_nb/training/heads.py': 'import numpy\n',
    'iqa_nb/methods/__init__.py': 'from .registry import METHODS\n',    # runs code: a dependency
    'iqa_nb/methods/registry.py': 'METHODS = {}\n',
    'iqa_nb/methods/rankiqa.py': 'from ..training import heads\nfrom . import registry\n',
    'iqa_nb/methods/bspiqa.py': 'import importlib\nH = importlib.import_module(".rankiqa", __package__)\n',
    'tools/run_stage.py': 'import json, sys\n',
    'nbs/pipeline/rankiqa.ipynb': [
        ('markdown', 'Prose that mentions `import iqa_nb.unused` is not code.'),
        ('code', '%matplotlib inline\nfrom iqa_nb.training.backbones import build\nfrom iqa_nb.methods import rankiqa\n'),
        ('code', '!ls\nimport pandas as pd\n')],
    'nbs/pipeline/bspiqa.ipynb': [('code', 'from iqa_nb.methods.bspiqa import H\n')],
    'nbs/pipeline/baselines.ipynb': [('code', 'from iqa_nb.core import X\n')],
    'params.yaml': 'methods: a,b\nmodels: [rankiqa, bspiqa]\n',
    'dvc.yaml': '''\
        vars:
          - params.yaml
        stages:
          baselines:
            cmd: >-
              python tools/run_stage.py nbs/pipeline/baselines.ipynb results/baselines.ipynb
              -p results_dir results/demo -r methods ${methods}
            params:
              - methods
            outs:
              # the executed notebook
              - results/baselines.ipynb:
                  cache: false
              # results of each method
              - results/demo/per_split/a.csv:
                  cache: false
              - results/demo/per_split/gone.csv:
                  cache: false
          train:
            foreach: ${models}
            do:
              cmd: python tools/run_stage.py nbs/pipeline/${item}.ipynb results/${item}.ipynb
              deps:
                - iqa_nb                            # the whole package: replaced by what the notebooks import
                - data/photos                       # data: kept, with its comment
              outs:
                - results/${item}.ipynb
          train_own_notebook:
            foreach: ${models}
            do:
              cmd: python tools/run_stage.py nbs/pipeline/${item}.ipynb results/own_${item}.ipynb
              deps:
                - nbs/pipeline/${item}.ipynb
              outs:
                - results/own_${item}.ipynb
        ''',
}


@pytest.fixture
def mini(tmp_path):
    _write(tmp_path, MINI)
    return tmp_path


def test_closure_follows_subpackages_relative_lazy_and_string_imports(mini):
    chains = sd.code_closure([mini/'nbs/pipeline/rankiqa.ipynb'], mini)
    assert sorted(chains) == ['iqa_nb/core.py', 'iqa_nb/databases.py', 'iqa_nb/demo.py', 'iqa_nb/loaders.py',
                              'iqa_nb/methods/__init__.py', 'iqa_nb/methods/rankiqa.py', 'iqa_nb/methods/registry.py',
                              'iqa_nb/training/backbones.py', 'iqa_nb/training/heads.py', 'nbs/pipeline/rankiqa.ipynb']
    assert chains['iqa_nb/loaders.py'] == ['nbs/pipeline/rankiqa.ipynb', 'iqa_nb.training.backbones',
                                           'iqa_nb.databases', 'iqa_nb.loaders']
    # importlib.import_module('.rankiqa', __package__): a relative name string
    assert 'iqa_nb/methods/rankiqa.py' in sd.code_closure([mini/'nbs/pipeline/bspiqa.ipynb'], mini)


def test_inert_init_is_no_dependency_unless_a_name_is_taken_from_it(mini):
    chains = sd.code_closure([mini/'nbs/pipeline/rankiqa.ipynb'], mini)
    assert 'iqa_nb/__init__.py' not in chains and 'iqa_nb/training/__init__.py' not in chains
    assert 'iqa_nb/methods/__init__.py' in chains   # it imports: it runs code
    (mini/'version.ipynb').write_text((mini/'nbs/pipeline/baselines.ipynb').read_text().replace(
        'from iqa_nb.core import X', 'from iqa_nb import __version__'))
    assert 'iqa_nb/__init__.py' in sd.code_closure([mini/'version.ipynb'], mini)


def test_lazy_package_attributes_count_only_where_they_are_taken(tmp_path):
    "A PEP 562 `__getattr__` in a package __init__ (`iqa_nb.predict` imported on first use) counts where it is used."
    _write(tmp_path, {
        'iqa_nb/__init__.py': '''\
            __version__ = "0.1.0"
            _LAZY = {'predict': 'iqa_nb.training.predict'}
            def __getattr__(name):
                import importlib
                return getattr(importlib.import_module(_LAZY[name]), name)
            ''',
        'iqa_nb/core.py': '',
        'iqa_nb/training/__init__.py': '',
        'iqa_nb/training/predict.py': 'from ..core import *\n',
        'a.ipynb': [('code', 'import iqa_nb.core\n')],
        'b.ipynb': [('code', 'from iqa_nb import predict\n')],
        'c.ipynb': [('code', 'import iqa_nb as q\nq.predict([])\n')]})
    closure = lambda nb: sorted(sd.code_closure([tmp_path/nb], tmp_path))
    # defining __getattr__ and constants changes nothing for a file that only imports a submodule
    assert closure('a.ipynb') == ['a.ipynb', 'iqa_nb/core.py']
    for nb in ('b.ipynb', 'c.ipynb'):
        assert closure(nb) == sorted([nb, 'iqa_nb/__init__.py', 'iqa_nb/core.py', 'iqa_nb/training/predict.py'])


def test_rewrite_generates_deps_and_method_outs_and_keeps_the_rest(mini):
    path = mini/'dvc.yaml'
    new, defs = sd.rewrite(path, root=mini)
    written = yaml.safe_load(new)['stages']
    assert written['baselines']['deps'] == ['nbs/pipeline/baselines.ipynb', 'tools/run_stage.py', 'iqa_nb/core.py']
    assert [next(iter(o)) for o in written['baselines']['outs']] == [
        'results/baselines.ipynb', 'results/demo/per_split/a.csv', 'results/demo/predictions/a.csv',
        'results/demo/per_split/b.csv', 'results/demo/predictions/b.csv']
    assert all(next(iter(o.values())) == {'cache': False} for o in written['baselines']['outs'])
    # foreach: one definition, the union of its instances' code, the folder dep replaced, the data dep kept
    deps = written['train']['do']['deps']
    assert deps[:3] == ['nbs/pipeline/rankiqa.ipynb', 'nbs/pipeline/bspiqa.ipynb', 'tools/run_stage.py']
    assert 'iqa_nb' not in deps and 'iqa_nb/methods/bspiqa.py' in deps and deps[-1] == 'data/photos'
    # a templated dep that names each instance's own notebook stays, and stands for it
    assert written['train_own_notebook']['do']['deps'][:2] == ['nbs/pipeline/${item}.ipynb', 'tools/run_stage.py']
    assert '# the executed notebook' in new and '# results of each method' in new
    assert 'data/photos                       # data: kept, with its comment' in new
    # what the tool writes DVC accepts, the tool finds nothing left to do, and a second run changes nothing
    path.write_text(new)
    assert sd.rewrite(path, root=mini)[0] == new
    assert not [m for d in sd.analyse(path, root=mini).values() for m in d.missing]
    assert not sd.stale(path, new, sd.analyse(path, root=mini), root=mini)


def test_per_method_outs_out_of_step_are_reported(mini):
    path = mini/'dvc.yaml'
    text = path.read_text()
    problems = sd.stale(path, text, sd.analyse(path, root=mini), root=mini)
    assert "dvc.yaml, stage 'baselines': outs lack results/demo/predictions/a.csv, written for a method of its `methods`" \
        in problems
    assert "dvc.yaml, stage 'baselines': outs name results/demo/per_split/gone.csv, but its `methods` do not include " \
           "that method" in problems


def test_a_stage_without_deps_or_method_outs_gets_them(mini):
    path = mini/'dvc.yaml'
    path.write_text('vars:\n  - params.yaml\nstages:\n  only:\n    cmd: >-\n'
                    '      python tools/run_stage.py nbs/pipeline/baselines.ipynb out.ipynb\n'
                    '      -p results_dir res -r methods ${methods}\n'
                    '    metrics:\n      - out.ipynb\n')
    new, _ = sd.rewrite(path, root=mini)
    stage = yaml.safe_load(new)['stages']['only']
    assert list(stage) == ['cmd', 'deps', 'outs', 'metrics']
    assert stage['deps'] == ['nbs/pipeline/baselines.ipynb', 'tools/run_stage.py', 'iqa_nb/core.py']
    assert [next(iter(o)) for o in stage['outs']] == ['res/per_split/a.csv', 'res/predictions/a.csv',
                                                      'res/per_split/b.csv', 'res/predictions/b.csv']


def test_a_cmd_naming_a_missing_notebook_fails_clearly(mini):
    path = mini/'dvc.yaml'
    path.write_text('stages:\n  typo:\n    cmd: python tools/run_stage.py nbs/pipeline/rankqia.ipynb out.ipynb\n')
    with pytest.raises(sd.StageDepsError,
                       match=r"stage 'typo': its cmd names nbs/pipeline/rankqia.ipynb, which is neither a file nor one"):
        sd.analyse(path, root=mini)
