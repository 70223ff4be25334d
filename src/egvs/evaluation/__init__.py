"""Research-grade evaluation: keyshot F1, rank correlations, highlight F1 and honest baselines.

`metrics` and `summary` are pure array functions; `protocol` applies them to videos (methods and
baselines through the same `score_against`); `videos` reads annotations or eccv16 h5 files.
"""

from egvs.evaluation.metrics import (
    f1_score,
    highlight_f1,
    keyshot_f1,
    rank_correlation,
    top_fraction,
)
from egvs.evaluation.protocol import (
    METRICS,
    EvalVideo,
    baselines,
    evaluate_video,
    evaluate_videos,
    human_video,
    mean_rows,
    random_video,
    split_summary,
)
from egvs.evaluation.summary import keyshot_summary, shot_scores, uniform_shots, upsample
from egvs.evaluation.videos import (
    baseline_rows,
    evaluate_h5_predictions,
    from_annotations,
    from_h5,
)

__all__ = [
    "METRICS",
    "EvalVideo",
    "baseline_rows",
    "baselines",
    "evaluate_h5_predictions",
    "evaluate_video",
    "evaluate_videos",
    "f1_score",
    "from_annotations",
    "from_h5",
    "highlight_f1",
    "human_video",
    "keyshot_f1",
    "keyshot_summary",
    "mean_rows",
    "random_video",
    "rank_correlation",
    "shot_scores",
    "split_summary",
    "top_fraction",
    "uniform_shots",
    "upsample",
]
