"""Training and evaluating the speech-emotion head (``egvs ser train`` / ``egvs ser eval``).

Kept apart from the model a video run needs (`egvs.ser`), as pyannote keeps its tasks apart from
its models and pipelines: labelled CSVs (`labels`), the video-condition augmentation with its
music synthesiser and noise bank (`augment`), cached clip features, speaker-grouped
cross-validation and the final fit (`train`), the linear and calibration fits (`fit`), the MLP
trainer (`mlp`, torch) and the per-corpus metrics (`evaluate`). It imports `egvs.ser`, never the
other way round.
"""
