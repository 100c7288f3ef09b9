"""``talkclip farm openjd MANIFEST --out BUNDLE --chunks N [--runner blender|bpy] [--workers W]``:
a batch manifest as an Open Job Description job bundle, to run on a render farm (AWS Deadline
Cloud: ``deadline bundle submit BUNDLE``) or here (``openjd run``).

    BUNDLE/template.yaml            the job (jobtemplate-2023-09): step ``Batch`` with one task per
                                    chunk, step ``Merge`` after it
    BUNDLE/params.json              every job parameter's value (``openjd run --job-param file://...``)
    BUNDLE/parameter_values.json    the same values as Deadline Cloud reads them from a bundle
    BUNDLE/asset_references.json    the manifest's inputs and output folders, for job attachments

Each task runs the existing headless batch on the original manifest with ``--chunk K/N`` (N runs
of consecutive lines), so every path keeps the meaning it has for a plain batch: relative to the
manifest's folder, outputs inside it unless ``--allow-outside-paths``, collisions judged over the
whole manifest. Chunk K reports to ``BUNDLE/chunks/K/report.json`` (the layout
``blender_addon.chunks`` merges) and exits 0 when lines failed, so one broken line cannot hold up
the merge; ``Merge`` writes ``BUNDLE/report.json`` (the batch report's schema, one entry per
manifest line) and ``BUNDLE/report.html``.

The manifest is read by the runner itself (``batch --plan``), not here: this package sits below
the Blender layer and does not import it, and the plan then comes from the very code the farm runs.
A manifest with colliding lines (two writing one output, one writing another's input) is refused
before anything is written: on a farm such lines would race.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from talkclip_model.errors import TalkclipError
from talkclip_model.files import atomic_output

RUNNERS = ("blender", "bpy")
CHECKOUT = Path(__file__).resolve().parents[1]  # where blender_addon sits when run from the repository
CHUNK_REPORT = "{{Param.BundleDir}}/chunks/{{Task.Param.Chunk}}/report.json"  # blender_addon.chunks.chunk_report_path
PLAN_TIMEOUT_S = 600
STOP_GRACE_S = 30  # a cancelled task gets SIGTERM, then this long to write its report


def register(subparsers) -> None:
    p = subparsers.add_parser("farm", help="run a batch manifest on a render farm (Open Job Description bundle)",
                              description="Turn a batch manifest into a job for a render farm.")
    sub = p.add_subparsers(dest="farm_command", metavar="FORMAT", required=True)
    o = sub.add_parser(
        "openjd", help="write an Open Job Description job bundle (openjd run, deadline bundle submit)",
        description="Write an Open Job Description job bundle for MANIFEST: one task per chunk of consecutive "
                    "lines, each running the headless batch, then a Merge step writing BUNDLE/report.json and "
                    "BUNDLE/report.html. Run it here with 'openjd run BUNDLE/template.yaml --job-param "
                    "file://BUNDLE/params.json --step Merge --run-dependencies'.")
    o.add_argument("manifest", metavar="MANIFEST", help="a batch manifest (.json or .csv)")
    o.add_argument("--out", required=True, metavar="BUNDLE", help="the bundle folder (made; a previous bundle there is replaced)")
    o.add_argument("--chunks", required=True, type=int, metavar="N", help="how many tasks to split the lines into")
    o.add_argument("--runner", choices=RUNNERS, default="blender",
                   help="blender: 'blender -b --command talkclip batch' (the installed extension; default); "
                        "bpy: 'python -m blender_addon.batch' with this interpreter")
    o.add_argument("--workers", type=int, default=1, metavar="W", help="worker processes per task (default 1)")
    o.add_argument("--blender", default="blender", metavar="PATH", help="the Blender executable (--runner blender)")
    o.add_argument("--force", action="store_true", help="redo lines whose output exists")
    o.add_argument("--allow-outside-paths", action="store_true", help="as the batch's option")
    o.add_argument("--strict-paths", action="store_true", help="as the batch's option")
    o.set_defaults(func=cmd_openjd)


def _entry(runner: str, executable: str, merge: bool = False) -> tuple[str, list[str]]:
    """The command and first arguments of the batch (or the merge) for ``runner``."""
    if runner == "bpy":
        return executable, ["-m", "blender_addon.chunks" if merge else "blender_addon.batch"]
    return executable, ["-b", "--command", "talkclip", "merge" if merge else "batch"]


def _path_flags(args) -> list[str]:
    return [flag for flag, on in (("--allow-outside-paths", args.allow_outside_paths),
                                  ("--strict-paths", args.strict_paths)) if on]


def _run_plan(cmd: list[str], env: dict[str, str] | None) -> tuple[dict | None, str]:
    with tempfile.TemporaryDirectory(prefix="talkclip-plan-") as tmp:  # run from elsewhere, as the farm does
        out = Path(tmp) / "plan.json"
        try:
            proc = subprocess.run([*cmd, "--plan", str(out)], cwd=tmp, env=env, capture_output=True, text=True,
                                  timeout=PLAN_TIMEOUT_S)
        except FileNotFoundError:
            raise TalkclipError(f"{cmd[0]}: not found (give --blender PATH, or --runner bpy)") from None
        except subprocess.TimeoutExpired:
            raise TalkclipError(f"reading the manifest with {cmd[0]} took over {PLAN_TIMEOUT_S} s") from None
        if proc.returncode == 0 and out.is_file():
            return json.loads(out.read_text(encoding="utf-8")), ""
        lines = [ln for ln in (proc.stderr + proc.stdout).strip().splitlines() if ln.strip()]
        return None, lines[-1] if lines else f"exit status {proc.returncode}"


def plan(manifest: Path, runner: str, executable: str, flags: list[str]) -> tuple[dict, dict[str, str]]:
    """The runner's plan of the manifest, and the environment the tasks need (PYTHONPATH, when the
    bpy runner finds blender_addon only in this checkout)."""
    cmd, first = _entry(runner, executable)
    argv = [cmd, *first, str(manifest), *flags]
    found, why = _run_plan(argv, None)
    if found is None and runner == "bpy" and "blender_addon" in why and (CHECKOUT / "blender_addon").is_dir():
        extra = {"PYTHONPATH": str(CHECKOUT)}
        found, why = _run_plan(argv, {**os.environ, **extra})
        if found is not None:
            return found, extra
    if found is None:
        raise TalkclipError(f"{manifest}: the {runner} runner could not read it: {why}")
    return found, {}


def refuse_collisions(manifest: Path, found: dict) -> None:
    colliding = [j for j in found["jobs"] if j.get("collides")]
    if colliding:
        shown = "; ".join(f"line {j['job']} ({j['name']}): {j['error']}" for j in colliding[:4])
        more = f" and {len(colliding) - 4} more" if len(colliding) > 4 else ""
        raise TalkclipError(f"{manifest}: lines collide on their outputs, and a farm job would race on them: "
                            f"{shown}{more}. Nothing was written; give each line its own output")
    if not found["jobs"]:
        raise TalkclipError(f"{manifest}: the manifest has no lines")


def _parameters(runner: str, chunks: int, workers: int, executable: str) -> list[dict[str, Any]]:
    exe = {"name": "Python", "type": "STRING", "default": executable,
           "description": "the Python with the bpy module that runs 'python -m blender_addon.batch'"} if runner == "bpy" else \
          {"name": "Blender", "type": "STRING", "default": executable,
           "description": "the Blender (with the TalkCLIP extension) that runs 'blender -b --command talkclip batch'"}
    return [
        {"name": "Manifest", "type": "PATH", "objectType": "FILE", "dataFlow": "IN",
         "description": "the batch manifest; paths in it resolve against its folder, and outputs land where it says"},
        {"name": "BundleDir", "type": "PATH", "objectType": "DIRECTORY", "dataFlow": "OUT",
         "description": "where the chunk reports and the merged report.json / report.html are written"},
        {"name": "Chunks", "type": "INT", "minValue": 1, "default": chunks,
         "description": "tasks: runs of consecutive manifest lines"},
        {"name": "Workers", "type": "INT", "minValue": 1, "default": workers,
         "description": "worker processes per task, each loading the models once"},
        exe,
    ]


def _action(command: str, args: list[str]) -> dict[str, Any]:
    return {"command": command, "args": args,
            "cancelation": {"mode": "NOTIFY_THEN_TERMINATE", "notifyPeriodInSeconds": STOP_GRACE_S}}


def build_template(name: str, runner: str, chunks: int, workers: int, executable: str,
                   flags: list[str], env: dict[str, str]) -> dict[str, Any]:
    """The OpenJD job template (jobtemplate-2023-09) as a dict."""
    param = "{{Param.Python}}" if runner == "bpy" else "{{Param.Blender}}"
    _, batch = _entry(runner, "")
    _, merge = _entry(runner, "", merge=True)
    batch_args = [*batch, "{{Param.Manifest}}", "--chunk", "{{Task.Param.Chunk}}/{{Param.Chunks}}",
                  "--report", CHUNK_REPORT, "--workers", "{{Param.Workers}}", "--progress", "json", "--exit-zero", *flags]
    merge_args = [*merge, "{{Param.BundleDir}}/chunks", "--manifest", "{{Param.Manifest}}", "--chunks", "{{Param.Chunks}}",
                  "--report", "{{Param.BundleDir}}/report.json", *[f for f in flags if f != "--force"]]
    template: dict[str, Any] = {
        "specificationVersion": "jobtemplate-2023-09",
        "name": name,
        "description": "TalkCLIP headless batch in chunks of consecutive manifest lines, then Merge: "
                       "report.json and report.html in BundleDir.",
        "parameterDefinitions": _parameters(runner, chunks, workers, executable),
        "steps": [
            {"name": "Batch",
             "description": "one task per chunk: the batch on its lines, its report in BundleDir/chunks/K",
             "parameterSpace": {"taskParameterDefinitions": [
                 {"name": "Chunk", "type": "INT", "range": "1-{{Param.Chunks}}"}]},
             "script": {"actions": {"onRun": _action(param, batch_args)}}},
            {"name": "Merge",
             "description": "the chunk reports as one report of every manifest line, and its review page",
             "dependencies": [{"dependsOn": "Batch"}],
             "script": {"actions": {"onRun": _action(param, merge_args)}}},
        ],
    }
    if env:
        template["jobEnvironments"] = [{"name": "TalkclipCheckout", "variables": dict(env)}]
    return template


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dict, list)):  # only empty ones reach here
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def to_yaml(value: Any, indent: int = 0) -> list[str]:
    """Block-style YAML lines of plain dicts, lists and scalars (strings always quoted)."""
    pad = " " * indent
    if isinstance(value, dict) and value:
        out = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                out += [f"{pad}{key}:", *to_yaml(item, indent + 2)]
            else:
                out.append(f"{pad}{key}: {_scalar(item)}")
        return out
    if isinstance(value, list) and value:
        out = []
        for item in value:
            lines = to_yaml(item, indent + 2) if isinstance(item, (dict, list)) and item else [_scalar(item)]
            out += [f"{pad}- {lines[0].lstrip()}", *lines[1:]]
        return out
    return [pad + _scalar(value)]


def _asset_references(manifest: Path, found: dict, bundle: Path) -> dict[str, Any]:
    inputs = {str(manifest)} | {p for j in found["jobs"] for p in j.get("inputs") or [] if Path(p).is_file()}
    outputs = {str(Path(j["output"]).parent) for j in found["jobs"] if j.get("output") and not j.get("error")}
    return {"assetReferences": {"inputs": {"filenames": sorted(inputs), "directories": []},
                                "outputs": {"directories": sorted(outputs | {str(bundle)})}, "referencedPaths": []}}


def _prepare_bundle(out: Path) -> None:
    """Make the bundle folder; a previous bundle's results there go with it (they belong to the old job)."""
    if out.exists() and not out.is_dir():
        raise TalkclipError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "template.yaml").is_file():
        raise TalkclipError(f"{out}: the folder is not empty and holds no bundle; choose an empty or new folder")
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "chunks", ignore_errors=True)
    for old in ("report.json", "report.html"):
        (out / old).unlink(missing_ok=True)


def _write_json(path: Path, data: Any) -> None:
    with atomic_output(path, "w") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")


def cmd_openjd(args) -> int:
    if args.chunks < 1 or args.workers < 1:
        raise TalkclipError("--chunks and --workers take 1 or more")
    manifest = Path(args.manifest).resolve()
    if not manifest.is_file():
        raise TalkclipError(f"{manifest}: manifest not found")
    executable = sys.executable if args.runner == "bpy" else args.blender
    flags = _path_flags(args)
    found, env = plan(manifest, args.runner, executable, flags)
    refuse_collisions(manifest, found)
    chunks = min(args.chunks, len(found["jobs"]))
    out = Path(args.out).resolve()
    _prepare_bundle(out)
    title = manifest.name.replace("{", "(").replace("}", ")")[:80]
    name = f"TalkCLIP batch: {title} ({len(found['jobs'])} lines, {chunks} chunks)"
    template = build_template(name, args.runner, chunks, args.workers, executable,
                              flags + (["--force"] if args.force else []), env)
    values = {"Manifest": str(manifest), "BundleDir": str(out), "Chunks": chunks, "Workers": args.workers,
              ("Python" if args.runner == "bpy" else "Blender"): executable}
    with atomic_output(out / "template.yaml", "w") as fh:
        fh.write("# Written by 'talkclip farm openjd'; see docs/farm.md\n" + "\n".join(to_yaml(template)) + "\n")
    _write_json(out / "params.json", values)
    _write_json(out / "parameter_values.json", {"parameterValues": [{"name": k, "value": v} for k, v in values.items()]})
    _write_json(out / "asset_references.json", _asset_references(manifest, found, out))
    print(f"wrote {out}: {len(found['jobs'])} lines in {chunks} chunks, runner {args.runner}\n"
          f"  here:            openjd run {out / 'template.yaml'} --job-param file://{out / 'params.json'} "
          f"--step Merge --run-dependencies\n"
          f"  Deadline Cloud:  deadline bundle submit {out}", file=sys.stderr)
    return 0
