"""Citations a reader can follow: every `[KEY where]` citation in the notebooks, pages, parameters, pipelines, tests
and tools resolves to an entry of docs/references.md, no text cites a paper by the number of a local file
("seed 003") or points at those files, and none names a work item of this project's tracker ("issue 6").
Issues of other projects stay citable by naming the project ("piq issue #114", "RankIQA #45")."""
import json, re, sys
from pathlib import Path

import pytest

from conftest import ROOT

REFERENCES = ROOT/'docs'/'references.md'
THE_FIVE = ('BSPIQA', 'QualNet', 'RankIQA-thesis', 'BPSQM', 'DeepFL-IQA')
# Every file a reader meets: library, pipeline and benchmark notebooks, the pages, parameters and pipelines, and
# the generated markdown under results/ (executed notebooks under results/ are refreshed by re-running their stage).
SCANNED = ('nbs/**/*.ipynb', 'README.md', 'CONTRIBUTING.md', 'params.yaml', 'dvc.yaml', 'pipelines/**/dvc.yaml',
           'docs/*.md', 'tests/*.py', 'tools/*.py', 'results/**/*.md')

# A citation is a bracket not glued to a name (so `x[N]`, `list[T]`, `f(a)[0]` are indexing) and not a link text.
BRACKET = re.compile(r"(?<![\w\])])\[([^\[\]\n]{1,160})\](?!\()")
KEY_SHAPE = r"[A-Z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*"
LOCATOR = (r"(?:§|[Ss]ec\.|[Ss]ections?|[Tt]ables?|[Ff]igs?\.|[Ff]igures?|[Ee]qs?\.|[Ee]quations?|pp?\.|[Aa]lg\.|"
           r"[Aa]lgorithm|[Aa]ppendix|refs?\.)")
# Shapes that can only be meant as a citation, so an unknown key in them is an error rather than ordinary text.
CITATION_SHAPES = (re.compile(rf"{KEY_SHAPE}(?: (?:19|20)\d\d[a-z]?)?,? {LOCATOR}.*"),   # [BPSQM eq. 5]
                   re.compile(r"[A-Z][a-z]+(?:[- ][A-Z][a-z]+)? (?:19|20)\d\d[a-z]?"))   # [Sheikh 2006]
PAPER_FILE = re.compile(r"(?i)\bseeds?[ _-]?0\d\d\b|shared/seeds\b")
WORK_ITEM = re.compile(r"(?i)\bissues?\s*#?\s*\d+")
# another project's tracker, named just before its issue number: allowed
OTHER_TRACKERS = re.compile(r"(?i)(?:\bpyiqa|\bpiq|\bRankIQA|IQA-PyTorch|\bnbdev|\bpapermill|\bdvc|\bmyst(?:-nb)?|"
                            r"\bsphinx|\bpytorch|\btorch(?:vision)?|\bnumpy|\bscipy|\bscikit-\w+|\bpandas|"
                            r"github\.com/\S+|\b[\w.-]+/[\w.-]+)\W{0,3}(?:issues?\W{0,3})?$")


def reference_keys(text: str) -> dict:
    "Key -> entry text of each `### KEY` entry of the references page."
    entries = re.split(r'^### ', text, flags=re.M)[1:]
    return {e.split('\n', 1)[0].strip(): e.split('\n', 1)[1] if '\n' in e else '' for e in entries}


def citation_problems(text: str, keys) -> list:
    "(offset, message) for each bracket in `text` shaped like a citation whose key has no entry in `keys`."
    by_length = sorted(keys, key=len, reverse=True)
    problems = []
    for m in BRACKET.finditer(text):
        body = m.group(1).strip()
        if any(body == k or body.startswith((k + ' ', k + ',')) for k in by_length): continue
        if any(s.fullmatch(body) for s in CITATION_SHAPES):
            problems.append((m.start(), f"unknown citation key in [{body}]"))
    return problems


def wording_problems(text: str) -> list:
    "(offset, message) for each citation of a local paper file and each mention of this project's work items."
    problems = [(m.start(), f"cites a local paper file: {m.group(0)!r}") for m in PAPER_FILE.finditer(text)]
    for m in WORK_ITEM.finditer(text):
        before = text[max(0, m.start() - 40):m.start()].split('\n')[-1]
        if not OTHER_TRACKERS.search(before):
            problems.append((m.start(), f"names a work item: {m.group(0)!r} (say what the thing is)"))
    return sorted(problems)


def messages(problems) -> list: return [msg for _, msg in problems]


def scanned_texts():
    "(label, text) for every scanned file but this one (its fixtures are meant to be flagged); one per notebook cell."
    seen = {Path(__file__).resolve()}
    for pattern in SCANNED:
        for path in sorted(ROOT.glob(pattern)):
            if path.resolve() in seen or '.ipynb_checkpoints' in path.parts or not path.is_file(): continue
            seen.add(path.resolve())
            rel = path.relative_to(ROOT).as_posix()
            if path.suffix == '.ipynb':
                for i, cell in enumerate(json.loads(path.read_text())['cells']):
                    src = cell['source'] if isinstance(cell['source'], str) else ''.join(cell['source'])
                    yield f"{rel} cell {cell.get('id', i)}", src
            else:
                yield rel, path.read_text()


def report(check) -> list:
    "`file[ cell id], line N: message` for every problem `check(text)` finds in the scanned files."
    return [f"{label}, line {text.count(chr(10), 0, pos) + 1}: {msg}"
            for label, text in scanned_texts() for pos, msg in check(text)]


@pytest.fixture(scope='module')
def keys():
    return reference_keys(REFERENCES.read_text())


# ---- the detectors themselves: each must flag what it is there to flag, and nothing ordinary -------------------------

def test_detectors_flag_what_they_should():
    keys = {'BPSQM', 'DeepFL-IQA', 'KADID-10k'}
    assert citation_problems('as [BPSQM eq. 5] and [DeepFL-IQA §V-B, Table IV]; data: [KADID-10k].', keys) == []
    assert messages(citation_problems('see [BPSQN eq. 5]', keys)) == ['unknown citation key in [BPSQN eq. 5]']
    assert messages(citation_problems('after [Sheikh 2006]', keys)) == ['unknown citation key in [Sheikh 2006]']
    ordinary = "x[N] + list[T] + f(a)[0] + [link](https://x) + [0, 1] + ['ssim'] + r'[A-Z]' + [^1] + [Table 1]"
    assert citation_problems(ordinary, keys) == []
    assert len(wording_problems('60/20/20 (seed 004 V-B; seeds 003, 004), seed004, ../shared/seeds/')) == 4
    assert wording_problems('seed 0, `-p seed 0`, seed: 0, rng(seed, 42)') == []
    assert len(wording_problems('# Pipeline budgets (issue 2)\nIssue 4, item 5.')) == 2
    assert wording_problems('pyiqa #28, #67; piq issue #114; RankIQA issue #45; github.com/a/b/issues/3') == []


# ---- the references page ---------------------------------------------------------------------------------------------

def test_references_page_has_the_five_papers_and_complete_entries(keys):
    missing = [k for k in THE_FIVE if k not in keys]
    assert not missing, f"docs/references.md lacks entries for {missing}"
    for key, entry in keys.items():
        assert re.search(r'\b(19|20)\d\d\b', entry), f"[{key}]: no year in its entry"
        assert re.search(r'DOI|URL|<https?://', entry), f"[{key}]: no DOI or URL (or a statement that it has none)"
        assert '**' in entry, f"[{key}]: no title in bold"
    text = REFERENCES.read_text()
    assert len(keys) == len(re.findall(r'^### ', text, flags=re.M)), 'a key is defined twice in docs/references.md'


def test_references_page_is_in_the_docs_toc():
    sys.path.insert(0, str(ROOT/'tools'))
    try:
        import build_docs
    finally:
        sys.path.pop(0)
    assert 'references' in build_docs.reference_pages()


# ---- the repository --------------------------------------------------------------------------------------------------

def test_every_citation_resolves(keys):
    problems = report(lambda text: citation_problems(text, keys))
    assert not problems, 'citations docs/references.md cannot resolve:\n' + '\n'.join(problems)


def test_no_paper_file_numbers_or_work_items():
    problems = report(wording_problems)
    assert not problems, ('cite papers by their key in docs/references.md ([BPSQM eq. 5]) and say what a thing is, '
                          'not which work item made it:\n' + '\n'.join(problems))
