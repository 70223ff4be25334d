"""Faces as a second emotion channel (issue 20): how well, where it changes the summary, at what cost.

    .venv/bin/python benchmarks/faces.py [fer] [crema] [weights] [films] [speed] [stage]
        [--work DIR] [--repeat 3] [--minutes 10]

Sections (all by default except ``speed``, which takes about half an hour on a busy 2-core box):

* ``fer``: `egvs face eval` on ../shared/data/faces/fer2013_public_test (3,589 images of
  FER-2013's public test split, which the model's training split never saw): accuracy, UAR,
  valence-group UAR and each class's recall, beside chance (1/7 UAR) and the majority class.
* ``crema``: the six CREMA-D clips of ../shared/data/videos/crema_d (actor 1001, "Don't forget a
  jacket", six acted emotions) through the analysis' face stage (`video_faces`, the frames the
  analysis samples), against the clips' face-only perceived labels (summaryTable.csv FaceVote).
* ``weights``: how the fusion's ``faces`` weight was chosen. The six clips are joined into one
  video twice: with their voices, and with the sound replaced by silence (the voice has nothing
  to say, as in a video cut to music). Per clip, the mean importance of the steps wholly inside
  it; the table gives, per weight, the AUC of the clips whose faces viewers saw as emotional
  (FaceVote not N: happy, angry, disgust, fear) against those seen as neutral (the neutral and
  the sad clip), and the importance of each clip.
* ``films``: every shared film clip (../shared/data/videos, mp4/webm) summarized with
  ``faces=0`` and with the default weights: the chosen segments and their reasons side by side,
  and whether they changed.
* ``speed``: CPU seconds of the analysis (every stage, no cache) with and without the face stage,
  and of the bare FFmpeg decode, on two 1280x720 videos of --minutes (default 10) built once
  under --work: a talk with a face in every frame (the CREMA-D clips looped, pillar-boxed) and a
  video without faces (FFmpeg's test pattern and a tone). Medians of --repeat runs; ratios to
  the bare decode of the same run, and the face stage's own CPU from the pipeline's stage clock.
* ``stage``: the face stage alone on the same videos (its thread CPU, fed the analysis' frames),
  beside the bare decode of the same run: a cheaper measure when full analyses do not fit.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from egvs.features.faces import FaceStage

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CREMA = SHARED / "videos" / "crema_d"
FER = SHARED / "faces" / "fer2013_public_test" / "labels.csv"
CLIPS = ("NEU", "HAP", "SAD", "ANG", "FEA", "DIS")
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)


def fer() -> None:
    from egvs.evaluation.faces import evaluate_faces, format_table, read_face_labels
    from egvs.features.faces import ExpressionModel

    result = evaluate_faces(read_face_labels(FER), ExpressionModel().classify)
    print("## FER-2013 public test (egvs face eval)\n")
    print(format_table(result))
    m = result["overall"]
    print(
        f"\nchance UAR {100 * m['chance_uar']:.1f}%, majority-class accuracy "
        f"{100 * m['majority_accuracy']:.1f}%, valence-group chance 33.3%\n"
    )


def face_votes() -> dict[str, str]:
    with open(CREMA / "summaryTable.csv", newline="") as f:
        return {row["FileName"]: row["FaceVote"] for row in csv.DictReader(f)}


def crema() -> None:
    from egvs.features.faces import EXPRESSIONS, face_signals, video_faces

    votes = face_votes()
    print("## CREMA-D, actor 1001 (face stage on the analysis' frames)\n")
    print("| clip | face-only perceived | face seen | happy | surprise | negative | "
          "expressiveness | top class |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for emotion in CLIPS:
        name = f"1001_DFA_{emotion}_XX"
        grid, raw = video_faces(CREMA / f"{name}.flv")
        sig = face_signals(raw, grid.step)
        seen = raw[:, 0] > 0
        top = EXPRESSIONS[int(raw[seen, 1:].mean(0).argmax())] if seen.any() else "-"
        means = {k: float(v.mean()) for k, v in sig.items()}
        print(
            f"| {name} | {votes.get(name, '?')} | {means['face_present']:.2f} | "
            f"{means['face_happy']:.2f} | {means['face_surprise']:.2f} | "
            f"{means['face_negative']:.2f} | {means['face_expressiveness']:.2f} | {top} |"
        )
    print()


def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise SystemExit("needs Debian's ffmpeg: apt-get install ffmpeg")
    return path


def joined_clips(out: Path, silent: bool) -> list[tuple[str, float, float]]:
    """The six clips in one 480x360 video (voices, or silence); (clip, start, end) seconds."""
    from egvs.media.probe import probe

    spans, t = [], 0.0
    for emotion in CLIPS:
        d = probe(CREMA / f"1001_DFA_{emotion}_XX.flv", min_duration=0).duration
        spans.append((emotion, t, t + d))
        t += d
    if out.exists():
        return spans
    inputs = [a for e in CLIPS for a in ("-i", str(CREMA / f"1001_DFA_{e}_XX.flv"))]
    streams = "".join(f"[{i}:v:0][{i}:a:0]" for i in range(len(CLIPS)))
    graph = f"{streams}concat=n={len(CLIPS)}:v=1:a=1[v][a]"
    audio = ["-map", "[a]"]
    if silent:
        graph += ";[a]volume=0[silent]"
        audio = ["-map", "[silent]"]
    subprocess.run(
        [ffmpeg(), "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[v]", *audio,
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-c:a", "aac", "-ar", "48000",
         str(out)],
        check=True,
    )  # fmt: skip
    return spans


def auc(positive: list[float], negative: list[float]) -> float:
    pairs = [(p > n) + 0.5 * (p == n) for p in positive for n in negative]
    return float(np.mean(pairs))


def weights(work: Path) -> None:
    import egvs
    from egvs.scoring.fusion import FusionScorer, FusionWeights

    votes = face_votes()
    emotional = {e for e in CLIPS if votes[f"1001_DFA_{e}_XX"] != "N"}
    print("## Choosing the faces weight (CREMA-D actor 1001, six clips joined)\n")
    print(f"clips viewers saw as emotional in the face alone: {', '.join(sorted(emotional))}\n")
    for silent in (False, True):
        video = work / f"crema_joined_{'silent' if silent else 'voiced'}.mp4"
        spans = joined_clips(video, silent)
        _, timeline = egvs.extract(video)
        step = timeline.grid.step
        print(f"### {'sound replaced by silence' if silent else 'with their voices'}\n")
        print("| faces weight | AUC emotional vs neutral | " + " | ".join(CLIPS) + " |")
        print("|---" * (len(CLIPS) + 2) + "|")
        for w in WEIGHTS:
            importance = FusionScorer(FusionWeights(faces=w)).score(timeline)
            means = {
                e: float(importance[int(np.ceil(a / step)) : int(b / step)].mean())
                for e, a, b in spans
            }
            pos = [means[e] for e in CLIPS if e in emotional]
            neg = [means[e] for e in CLIPS if e not in emotional]
            cells = " | ".join(f"{means[e]:.3f}" for e in CLIPS)
            print(f"| {w:g} | {auc(pos, neg):.2f} | {cells} |")
        print()


def films(weights: tuple[float, ...] = WEIGHTS[1:]) -> None:
    import egvs
    from egvs.scoring.fusion import FusionWeights

    paths = sorted(p for p in (SHARED / "videos").iterdir() if p.suffix in (".mp4", ".webm"))
    off = {p: egvs.analyze(p, weights=FusionWeights(faces=0.0)) for p in paths}
    default = FusionWeights().faces

    def spans(analysis: egvs.Analysis) -> list[tuple[float, float]]:
        return [(s.start, s.end) for s in analysis.segments]

    print("## Film clips: which summaries the faces weight changes\n")
    print("| faces weight | clips changed | changed clips whose new segments show a smile or "
          "surprise (named reason) |")  # fmt: skip
    print("|---|---|---|")
    detail = {}
    for w in weights:
        on = {p: egvs.analyze(p, weights=FusionWeights(faces=w)) for p in paths}
        changed = [p for p in paths if spans(on[p]) != spans(off[p])]
        named = [
            p
            for p in changed
            if any(
                r.startswith(("smiling face", "surprised face"))
                for s in on[p].segments
                if (s.start, s.end) not in spans(off[p])
                for r in s.reasons
            )
        ]
        print(f"| {w:g} | {len(changed)} of {len(paths)} | {len(named)} of {len(changed)} |")
        if w == default:
            detail = on
    print(f"\n### Before (faces=0) and after (faces={default:g}, the default)\n")
    print("| clip | face seen | faces=0: segments (reasons) | default: segments (reasons) |")
    print("|---|---|---|---|")
    for p in paths:

        def cell(analysis: egvs.Analysis) -> str:
            return "<br>".join(
                f"{s.start:.1f}-{s.end:.1f} ({', '.join(s.reasons)})" for s in analysis.segments
            )

        seen = float(detail[p].timeline.signal("face_present").mean()) if detail else 0.0
        same = spans(detail[p]) == spans(off[p]) if detail else True
        after = "unchanged" if same else cell(detail[p])
        print(f"| {p.name} | {seen:.0%} | {cell(off[p])} | {after} |")
    print()


def build(path: Path, kind: str, minutes: float) -> Path:
    if path.exists():
        return path
    tmp = path.with_suffix(".part.mp4")
    if kind == "talk":
        joined = path.with_name("talk_12s.mp4")
        joined_clips(joined, silent=False)
        inputs = ["-stream_loop", "-1", "-i", str(joined)]
        video = ["-vf", "scale=960:720,pad=1280:720:160:0,fps=24"]
    else:
        inputs = ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=24",
                  "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]  # fmt: skip
        video = []
    print(f"building {path.name} ({minutes:g} min 720p, once)...", file=sys.stderr)
    subprocess.run(
        [ffmpeg(), "-v", "error", "-y", *inputs, "-t", str(round(minutes * 60)), *video, "-c:v", "libx264",
         "-preset", "veryfast", "-crf", "23", "-c:a", "aac", "-ar", "48000", str(tmp)],
        check=True,
    )  # fmt: skip
    tmp.rename(path)
    return path


CHILD = """
import json, sys
import egvs
from egvs.features.faces import FaceExtractor
from egvs.pipeline import StageClock, default_extractors
stages = default_extractors()
if sys.argv[2] == "off":
    stages = [s for s in stages if not isinstance(s, FaceExtractor)]
clock = StageClock()
egvs.extract(sys.argv[1], use_cache=False, extractors=stages, clock=clock)
print(json.dumps(clock.seconds))
"""


def cpu_of(cmd: list[str]) -> tuple[float, str]:
    """CPU seconds (user + sys) of a child process, and its stdout."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}")
        out.seek(0)
        return usage.ru_utime + usage.ru_stime, out.read().decode()


def speed(work: Path, repeat: int, minutes: float) -> None:
    print(f"## CPU cost of the face stage ({minutes:g}-minute 1280x720 videos)\n")
    print(f"medians of {repeat} runs on a shared, busy 2-core machine; ratios to the bare decode "
          "of the same run\n")  # fmt: skip
    print("| video | bare decode CPU s | analysis without faces (× decode) | "
          "with faces (× decode) | increase | face stage (stage clock) | "
          "face stage CPU s per video minute |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for kind in ("talk", "noface"):
        video = build(work / f"{kind}_{minutes:g}min.mp4", kind, minutes)
        runs: dict[str, list[float]] = {"decode": [], "off": [], "on": [], "stage": []}
        for _ in range(repeat):
            start = time.perf_counter()
            runs["decode"].append(
                cpu_of([ffmpeg(), "-v", "error", "-i", str(video), "-f", "null", "-"])[0]
            )
            for mode in ("off", "on"):
                cpu, out = cpu_of([sys.executable, "-c", CHILD, str(video), mode])
                runs[mode].append(cpu)
                if mode == "on":
                    runs["stage"].append(json.loads(out.strip().splitlines()[-1]).get("faces", 0.0))
            print(f"  {kind}: one round in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        med = {k: statistics.median(v) for k, v in runs.items()}
        ratios = [on / off for on, off in zip(runs["on"], runs["off"], strict=True)]
        shares = [st / (on - st) for st, on in zip(runs["stage"], runs["on"], strict=True)]
        print(
            f"| {kind} | {med['decode']:.1f} | {med['off']:.1f} ({med['off'] / med['decode']:.2f}) "
            f"| {med['on']:.1f} ({med['on'] / med['decode']:.2f}) | "
            f"{100 * (statistics.median(ratios) - 1):+.1f}% | "
            f"{med['stage']:.2f} s, {100 * statistics.median(shares):+.1f}% | "
            f"{med['stage'] / minutes:.2f} |"
        )
    print()


class _CountedStage(FaceStage):
    """The face stage, counting the steps it examines."""

    examined = 0

    def _examine(self, step: int, image: np.ndarray) -> bool:
        self.examined += 1
        return super()._examine(step, image)


def stage_cost(work: Path, repeat: int, minutes: float, kinds: list[str]) -> None:
    """The face stage's own CPU (thread clock around `FaceStage.update`, fed the analysis' frames)
    beside the bare decode of the same file: for when full analyses do not fit in the time."""
    from egvs.media.decode import VideoSample, stream_media
    from egvs.media.probe import probe
    from egvs.timeline import TimeGrid

    print(f"## CPU of the face stage alone ({minutes:g}-minute 1280x720 videos)\n")
    print(f"medians of {repeat} runs on a shared, busy 2-core machine\n")
    print("| video | bare decode CPU s | face stage CPU s | × bare decode | steps examined | "
          "face stage CPU s per video minute |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for kind in kinds:
        video = build(work / f"{kind}_{minutes:g}min.mp4", kind, minutes)
        info = probe(video)
        grid = TimeGrid.for_duration(info.duration)
        decode, stage_cpu, examined = [], [], 0
        for _ in range(repeat):
            decode.append(cpu_of([ffmpeg(), "-v", "error", "-i", str(video), "-f", "null", "-"])[0])
            stage = _CountedStage(info.width / info.height)
            seconds = 0.0
            for item in stream_media(info, grid, audio=False):
                if isinstance(item, VideoSample):
                    start = time.thread_time()
                    stage.update(item.step, item.image)
                    seconds += time.thread_time() - start
            stage_cpu.append(seconds)
            examined = stage.examined
        d, st = statistics.median(decode), statistics.median(stage_cpu)
        print(f"| {kind} | {d:.1f} | {st:.2f} | {st / d:.3f} | {examined} of {grid.n_steps} | "
              f"{st / minutes:.2f} |")  # fmt: skip
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", default=["fer", "crema", "weights", "films"])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "egvs-faces")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the speed videos")
    parser.add_argument("--videos", default="talk,noface", help="stage: which videos")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    for section in args.sections:
        if section == "fer":
            fer()
        elif section == "crema":
            crema()
        elif section == "weights":
            weights(args.work)
        elif section == "films":
            films()
        elif section == "speed":
            speed(args.work, args.repeat, args.minutes)
        elif section == "stage":
            stage_cost(args.work, args.repeat, args.minutes, args.videos.split(","))
        else:
            raise SystemExit(f"unknown section {section!r}")


if __name__ == "__main__":
    main()
