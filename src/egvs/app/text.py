"""Every word the page shows, in English and Korean: one table, so a label cannot be translated
in one place and forgotten in another (tests check both languages have the same keys)."""

from __future__ import annotations

LANGUAGES = {"en": "English", "ko": "한국어"}
DEFAULT_LANGUAGE = "en"

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "EGVS: emotion-guided video summaries",
        "intro": (
            "# EGVS: emotion-guided video summaries\n"
            "Put in a video; get a short summary that keeps the moments where the emotion is "
            "(voices, laughter, applause, screams, motion), the emotion timeline, and a timeline "
            "for your editor that points at the original file. Uploads up to {limit}; one "
            "summary at a time, the rest wait in the queue."
        ),
        "language": "Language / 언어",
        "input": "Video to summarize",
        "example": "Use a generated example (60 s)",
        "length": "Summary length",
        "mode_ratio": "Share of the video",
        "mode_seconds": "Target length in seconds",
        "ratio": "Share of the video",
        "seconds": "Target seconds",
        "weights": "Fusion weights",
        "w_emotion": "emotion (voice)",
        "w_events": "events (laughter, applause...)",
        "w_visual": "visual (motion, novelty)",
        "w_faces": "faces (smiles, surprise)",
        "format": "Editor timeline format",
        "run": "Summarize",
        "cancel": "Cancel",
        "ready": "Upload a video and press **Summarize**.",
        "summary": "Summary",
        "plot": "Emotion timeline",
        "segments": "Chosen segments",
        "downloads": "Downloads",
        "relink": (
            "The editor timeline refers to your original file by its name (**{name}**): save it "
            "in the folder of that video, or relink the clips in your editor (Resolve: *Relink "
            "Clips*; Premiere: *Link Media*; Final Cut: *Relink Files*)."
        ),
        "progress": "Analysing (decoding, emotion, events, visual)",
        "done": ("**Summary: {summary}** of {total} in {n} segment(s) · done in {seconds:.1f} s"),
        "error": "**Cannot summarize this file:** {message}",
        "internal": "**Internal error:** {message}",
        "cancelled": "**Cancelled.** Press **Summarize** to start again.",
        "cancelling": "Cancelling…",
        "col_n": "#",
        "col_start": "start",
        "col_end": "end",
        "col_length": "length (s)",
        "col_score": "score",
        "col_why": "why",
        "tab_summary": "Summary",
        "tab_shorts": "Shorts",
        "shorts_input": "Video to cut into shorts",
        "shorts_count": "How many clips",
        "shorts_length": "Clip length in seconds (MIN-MAX)",
        "shorts_aspect": "Frame shape",
        "shorts_captions": "Burn in captions (Whisper, offline)",
        "shorts_run": "Make shorts",
        "shorts_ready": "Upload a video and press **Make shorts**.",
        "shorts_progress": "Analysing, transcribing, reframing, rendering",
        "shorts_done": "**{n} short(s)**, best first · done in {seconds:.1f} s",
        "shorts_clips": "Shorts (best first)",
        "shorts_table": "Why each clip",
        "shorts_downloads": "Downloads (all clips as a zip, and each clip)",
        "col_transcript": "transcript",
    },
    "ko": {
        "title": "EGVS: 감정 기반 영상 요약",
        "intro": (
            "# EGVS: 감정 기반 영상 요약\n"
            "영상을 올리면 감정이 드러나는 순간(목소리, 웃음, 박수, 비명, 움직임)을 담은 짧은 "
            "요약과 감정 타임라인, 그리고 원본 파일을 가리키는 편집용 타임라인을 만들어 줍니다. "
            "업로드는 {limit}까지이며, 요약은 한 번에 하나씩 만들고 나머지는 대기열에서 "
            "기다립니다."
        ),
        "language": "Language / 언어",
        "input": "요약할 영상",
        "example": "생성된 예제 영상 사용 (60초)",
        "length": "요약 길이",
        "mode_ratio": "영상 대비 비율",
        "mode_seconds": "목표 길이(초)",
        "ratio": "영상 대비 비율",
        "seconds": "목표 길이(초)",
        "weights": "융합 가중치",
        "w_emotion": "감정 (목소리)",
        "w_events": "소리 이벤트 (웃음, 박수...)",
        "w_visual": "영상 (움직임, 새 장면)",
        "w_faces": "얼굴 (미소, 놀람)",
        "format": "편집 타임라인 형식",
        "run": "요약하기",
        "cancel": "취소",
        "ready": "영상을 올리고 **요약하기**를 누르세요.",
        "summary": "요약 영상",
        "plot": "감정 타임라인",
        "segments": "선택된 구간",
        "downloads": "다운로드",
        "relink": (
            "편집 타임라인은 원본 파일을 이름(**{name}**)으로 가리킵니다. 그 영상과 같은 폴더에 "
            "저장하거나, 편집기에서 클립을 다시 연결하세요 (Resolve: *Relink Clips*, Premiere: "
            "*Link Media*, Final Cut: *Relink Files*)."
        ),
        "progress": "분석 중 (디코딩, 감정, 소리 이벤트, 영상)",
        "done": "**요약: {summary}** / 원본 {total} · 구간 {n}개 · {seconds:.1f}초 걸림",
        "error": "**이 파일은 요약할 수 없습니다:** {message}",
        "internal": "**내부 오류:** {message}",
        "cancelled": "**취소되었습니다.** 다시 시작하려면 **요약하기**를 누르세요.",
        "cancelling": "취소하는 중…",
        "col_n": "#",
        "col_start": "시작",
        "col_end": "끝",
        "col_length": "길이 (초)",
        "col_score": "점수",
        "col_why": "이유",
        "tab_summary": "요약",
        "tab_shorts": "쇼츠",
        "shorts_input": "쇼츠로 자를 영상",
        "shorts_count": "클립 개수",
        "shorts_length": "클립 길이(초, 최소-최대)",
        "shorts_aspect": "화면 비율",
        "shorts_captions": "자막 넣기 (Whisper, 오프라인)",
        "shorts_run": "쇼츠 만들기",
        "shorts_ready": "영상을 올리고 **쇼츠 만들기**를 누르세요.",
        "shorts_progress": "분석, 받아쓰기, 화면 맞춤, 렌더링 중",
        "shorts_done": "**쇼츠 {n}개** (점수순) · {seconds:.1f}초 걸림",
        "shorts_clips": "쇼츠 (점수순)",
        "shorts_table": "클립별 이유",
        "shorts_downloads": "다운로드 (전체 zip과 클립별 파일)",
        "col_transcript": "자막",
    },
}


def language_of(accept_language: str | None) -> str:
    """The first language of an Accept-Language header that the page speaks (else English)."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in TEXT:
            return code
    return DEFAULT_LANGUAGE


def text(language: str, key: str, **values: object) -> str:
    """The page's text for ``key`` in ``language`` (English for an unknown language)."""
    return TEXT.get(language, TEXT[DEFAULT_LANGUAGE])[key].format(**values)
