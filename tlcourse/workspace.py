"""The learner's workspace: their own copies of the lessons, which a course update never overwrites.

``make lab`` opens ``workspace/`` (beside the course, git-ignored; ``TLCOURSE_WORKSPACE`` moves it),
not ``notebooks/``, whose instructor's copies show every solution and hidden test. The workspace sits
in the clone so that one clone is one course and ``git pull`` never touches it (``git clean -x``
would: move it with ``TLCOURSE_WORKSPACE`` if you use that). ``sync`` keeps it in step with the course:

* a lesson the workspace lacks (first run, a new lesson, a copy deleted to start over) arrives as its
  student copy, exactly what ``tlcourse release`` writes;
* a lesson the course changed replaces the learner's copy only while that copy is byte for byte the
  one written for them; a copy they edited stays, and the new version arrives beside it as
  ``NN_x (updated).ipynb``.

``.tlcourse/manifest.json`` records, per lesson, the sha256 of the course's source notebook last seen
and of the student copy the learner started from: so the learner's own edits are never taken for a
course change, and a course change is seen even after they edited.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tlcourse.i18n import tr

COURSE_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
STATE = ".tlcourse"  # hidden in JupyterLab's file browser
MANIFEST = "manifest.json"

#: Jupyter config of the learner's lab: nbgrader's server and JupyterLab extensions switched off.
LEARNER_JUPYTER = {
    "jupyter_server_config.json": {"ServerApp": {"jpserver_extensions": {
        f"nbgrader.server_extensions.{name}": False
        for name in ("formgrader", "validate_assignment", "assignment_list", "course_list")}}},
    "labconfig/page_config.json": {"disabledExtensions": {"@jupyter/nbgrader": True}},
}
#: The Chinese workspace (``make lab-zh``): JupyterLab's interface in Chinese (jupyterlab-language-pack-zh-CN),
#: through a settings override read from the workspace's own settings folder, so that neither the learner's
#: English lab nor their user settings change.
CHINESE_LAB_SETTINGS = "lab-settings"
CHINESE_OVERRIDES = {"@jupyterlab/translation-extension:plugin": {"locale": "zh_CN"}}


def workspace_dir() -> Path:
    """Where the learner's workspace is: ``$TLCOURSE_WORKSPACE``, or ``workspace/`` in the course's folder."""
    env = os.environ.get("TLCOURSE_WORKSPACE")
    return Path(env).expanduser() if env else COURSE_NOTEBOOKS.parent / "workspace"


def find_workspace(start: Path | None = None) -> Path | None:
    """The workspace that holds ``start`` (default: the current folder, a notebook's kernel runs in its
    folder), or None when ``start`` is in no workspace."""
    start = Path.cwd() if start is None else Path(start)
    for folder in (start, *start.parents):
        if (folder / STATE / MANIFEST).is_file():
            return folder
    return None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_json(path: Path) -> dict:
    """A JSON object from ``path``; {} when the file is missing."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}


def save_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically: a reader sees the old file or the new one, never half of one."""
    _write_atomic(path, (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode())


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)  # mkstemp's is 0o600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_new(path: Path, data: bytes) -> None:
    """Create ``path``; fail rather than replace a file that appeared meanwhile."""
    with path.open("xb") as f:
        f.write(data)


def student_copy(source: Path) -> bytes:
    """The bytes ``tlcourse release`` writes for ``source``: solutions stubbed, hidden tests and answers gone."""
    import nbformat

    from tlcourse.grading.release import needs_release, release_notebook

    raw = source.read_bytes()
    nb = nbformat.reads(raw.decode(), as_version=4)
    if not needs_release(nb):
        return raw
    text = nbformat.writes(release_notebook(nb))
    return (text if text.endswith("\n") else text + "\n").encode()


def lessons(source: Path) -> list[Path]:
    """The course's notebooks in ``source``, in order."""
    return sorted(p for p in Path(source).glob("*.ipynb") if p.is_file())


def updated_name(name: str, n: int = 1) -> str:
    """``04_freeze_lab.ipynb`` -> ``04_freeze_lab (updated).ipynb`` (n = 1), ``... (updated 2).ipynb`` ..."""
    stem = Path(name).stem
    return f"{stem} (updated{'' if n == 1 else f' {n}'}).ipynb"


def _offer_update(workspace: Path, name: str, entry: dict, data: bytes, release: str) -> str:
    """Put the new version beside the learner's copy: in place of an earlier update they left as it
    was, else under the first free ``(updated n)`` name. Returns the file name used."""
    previous = entry.get("updated", {})
    n = 1
    while True:
        path = workspace / updated_name(name, n)
        if not path.exists():
            _write_new(path, data)
            break
        if path.name == previous.get("file") and sha256(path.read_bytes()) == previous.get("release"):
            _write_atomic(path, data)  # the earlier update, unopened or unchanged: nothing of theirs in it
            break
        n += 1
    entry["updated"] = {"file": path.name, "release": release}
    return path.name


def sync(workspace: Path | None = None, source: Path = COURSE_NOTEBOOKS) -> list[str]:
    """Bring ``workspace`` in step with the course in ``source``; returns one line per thing done.

    Never writes over a file the learner changed (see the module's docstring)."""
    workspace = Path(workspace) if workspace is not None else workspace_dir()
    source = Path(source)
    if not source.is_dir():
        raise FileNotFoundError(tr("no course notebooks in {source}: a workspace is made from the instructor's "
                                   "notebooks/ of a clone of the course", source=source))
    if workspace.resolve() == source.resolve():
        raise ValueError(tr("the workspace cannot be the course's own folder {source}: choose another one",
                            source=source))
    state = workspace / STATE / MANIFEST
    done: list[str] = []
    try:
        manifest = load_json(state)
    except ValueError:  # treated as lost: every lesson is then compared with the course's copy afresh
        manifest = {}
        done.append(tr("{state} was damaged: a new one is started (your notebooks are untouched)", state=state))
    known = manifest.setdefault("lessons", {})
    workspace.mkdir(parents=True, exist_ok=True)
    for src in lessons(source):
        name, mine = src.name, workspace / src.name
        entry = known.get(name)
        source_sha = sha256(src.read_bytes())
        if entry is not None and entry.get("source") == source_sha and mine.exists():
            continue  # the course did not change this lesson
        try:
            data = student_copy(src)
        except Exception as err:  # a lesson being written can be broken: the others still arrive
            done.append(tr("skipped {name}: cannot make its student copy ({error})", name=name,
                           error=f"{type(err).__name__}: {err}"))
            continue
        release = sha256(data)
        if not mine.exists():
            _write_new(mine, data)
            done.append(tr("restored a fresh copy of {name}" if entry else "added {name}", name=name))
            entry = {"started_from": release}
        elif entry is None:  # a file of that name the workspace never recorded (lost manifest?)
            entry = {"started_from": release if sha256(mine.read_bytes()) == release else None}
            if entry["started_from"] is None:
                done.append(tr("{name} is not the course's copy: the course's is beside it as {update}", name=name,
                               update=_offer_update(workspace, name, entry, data, release)))
        elif release in (entry.get("started_from"), entry.get("updated", {}).get("release")):
            pass  # the source changed, the student copy did not (a solution or hidden test), or already offered
        elif sha256(mine.read_bytes()) == entry.get("started_from"):
            _write_atomic(mine, data)  # still exactly the copy written for them: nothing of theirs is lost
            entry = {"started_from": release}
            done.append(tr("updated {name} (you had not changed it)", name=name))
        else:
            done.append(tr("{name} changed in the course; your copy stays as it is, the new version is beside "
                           "it: {update}", name=name, update=_offer_update(workspace, name, entry, data, release)))
        entry["source"] = source_sha
        known[name] = entry
    save_json(state, manifest)
    return done


def jupyter_config(workspace: Path | None = None, lang: str | None = None) -> Path:
    """Write the learner's Jupyter config (no nbgrader menus or sidebars) into the workspace's hidden
    folder and return it: ``make lab`` puts it on ``JUPYTER_CONFIG_PATH``. ``lang`` (default:
    ``$TLCOURSE_LANG``, which ``make lab-zh`` sets): ``"zh"`` also shows JupyterLab's interface in Chinese."""
    from tlcourse.i18n import language, normalize

    folder = (Path(workspace) if workspace is not None else workspace_dir()) / STATE / "jupyter"
    for name, content in LEARNER_JUPYTER.items():
        save_json(folder / name, content)
    settings = folder / CHINESE_LAB_SETTINGS
    if (normalize(lang) or language()) == "zh":
        save_json(settings / "overrides.json", CHINESE_OVERRIDES)
        save_json(folder / "jupyter_lab_config.json", {"LabApp": {"app_settings_dir": str(settings)}})
    else:
        (settings / "overrides.json").unlink(missing_ok=True)
        (folder / "jupyter_lab_config.json").unlink(missing_ok=True)
    return folder
