"""Every word the page shows, in English and Korean: one table, so a label cannot be translated
in one place and forgotten in another (tests check both languages have the same keys)."""

from __future__ import annotations

import re

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
        "stage_analysing": "Analysing the video (decoding, emotion, sound events, picture)",
        "stage_rendering": "Choosing the moments and rendering the summary",
        "stage_finishing": "Writing the plot, the analysis and the editor timeline",
        "stage_transcribing": "Clip {k} of {n}: transcribing",
        "stage_framing": "Clip {k} of {n}: following faces to frame it",
        "stage_rendering_clip": "Clip {k} of {n}: rendering",
        "stage_packing": "Writing shorts.json and the zip",
        "done": ("**Summary: {summary}** of {total} in {n} segment(s) · done in {seconds:.1f} s"),
        "error": "**Cannot summarize this file:** {message}",
        "shorts_error": "**Cannot cut shorts from this file:** {message}",
        "options": "**Check the options:** {message}",
        "cannot_run": "**Cannot run:** {message}",
        "internal": "**Internal error:** {message}",
        "cancelled": "**Cancelled.** Press **Summarize** to start again.",
        "shorts_cancelled": "**Cancelled.** Press **Make shorts** to start again.",
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
        "shorts_done": "**{n} short(s)**, best first · done in {seconds:.1f} s",
        "shorts_shorter": (
            "The video is only {duration:.1f} s long, shorter than the {low:g} s asked for: "
            "clip #{rank} is {clip:.1f} s."
        ),
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
        "stage_analysing": "영상 분석 중 (디코딩, 감정, 소리 이벤트, 화면)",
        "stage_rendering": "구간을 고르고 요약 영상을 만드는 중",
        "stage_finishing": "타임라인 그림, 분석 결과, 편집 타임라인을 쓰는 중",
        "stage_transcribing": "클립 {k}/{n}: 받아쓰는 중",
        "stage_framing": "클립 {k}/{n}: 얼굴을 따라 화면을 맞추는 중",
        "stage_rendering_clip": "클립 {k}/{n}: 렌더링 중",
        "stage_packing": "shorts.json과 zip 파일을 쓰는 중",
        "done": "**요약: {summary}** / 원본 {total} · 구간 {n}개 · {seconds:.1f}초 걸림",
        "error": "**이 파일은 요약할 수 없습니다:** {message}",
        "shorts_error": "**이 파일로는 쇼츠를 만들 수 없습니다:** {message}",
        "options": "**설정을 확인하세요:** {message}",
        "cannot_run": "**실행할 수 없습니다:** {message}",
        "internal": "**내부 오류:** {message}",
        "cancelled": "**취소되었습니다.** 다시 시작하려면 **요약하기**를 누르세요.",
        "shorts_cancelled": "**취소되었습니다.** 다시 시작하려면 **쇼츠 만들기**를 누르세요.",
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
        "shorts_done": "**쇼츠 {n}개** (점수순) · {seconds:.1f}초 걸림",
        "shorts_shorter": (
            "영상 길이가 {duration:.1f}초로, 요청한 최소 {low:g}초보다 짧습니다. "
            "#{rank} 클립은 {clip:.1f}초입니다."
        ),
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


# The reasons `egvs.scoring.explain` gives for a segment (and the face expressions), in each
# language but English; the strength after a reason ("laughter 0.82") is kept as it is.
_KO_EVENTS = {
    "laughter": "웃음",
    "applause": "박수",
    "cheering": "환호",
    "screaming": "비명",
    "crying": "울음",
    "shouting": "고함",
}
REASONS: dict[str, dict[str, str]] = {
    "ko": {
        **_KO_EVENTS,
        "laughing voice": "웃는 목소리",
        "crying voice": "우는 목소리",
        "screaming voice": "비명 지르는 목소리",
        "neutral voice": "평온한 목소리",
        "calm voice": "차분한 목소리",
        "happy voice": "기쁜 목소리",
        "sad voice": "슬픈 목소리",
        "angry voice": "화난 목소리",
        "fearful voice": "겁먹은 목소리",
        "disgust voice": "혐오하는 목소리",
        "surprised voice": "놀란 목소리",
        "smiling face": "웃는 얼굴",
        "surprised face": "놀란 얼굴",
        "high arousal": "높은 흥분도",
        "fast motion": "빠른 움직임",
        "new scene": "새 장면",
        "loud": "큰 소리",
        "above-average importance": "평균 이상의 중요도",
    }
}
_STRENGTH = re.compile(r"(.*?)( [0-9.]+)?")

# The timeline plot's words (`egvs.export.plot.LABELS`) in each language but English.
PLOT_LABELS: dict[str, dict[str, str]] = {
    "ko": {
        "title": "{name}: 원본 {duration:.1f}초 중 {summary:.1f}초 요약 (목표 {budget:.1f}초, 음영)",
        "importance": "중요도",
        "arousal": "흥분도 (목소리)",
        "score": "점수",
        **_KO_EVENTS,
        "music": "음악",
        "voice": "목소리",
        "sound events": "소리 이벤트",
        "motion": "움직임",
        "novelty": "새로움",
        "picture": "화면",
        "time": "시간 (초)",
        "faces": "얼굴",
        "face seen": "얼굴 보임",
        "happy": "미소",
        "surprise": "놀람",
        "negative": "부정적",
    }
}


def reason(language: str, phrase: str) -> str:
    """A reason in the page's language (as it is when the table has no translation)."""
    match = _STRENGTH.fullmatch(phrase)
    assert match is not None  # the pattern matches any text
    name, strength = match[1], match[2] or ""
    return REASONS.get(language, {}).get(name, name) + strength
