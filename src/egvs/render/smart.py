"""Smart rendering: stream-copy the whole GOPs a segment keeps, re-encode only its two ends.

A kept segment of an H.264 or HEVC source (in MP4, MOV or Matroska) is written as the source's
own packets for every GOP that lies wholly inside it, and as x264 or x265 pictures from the cut
to the next keyframe and from the last keyframe to the segment's end. The copied packets are byte-identical
to the source's, and the cuts stay frame-exact: the segment keeps exactly the source frames the
full re-encode shows (`egvs.render.video`), at their own times, with the sound cut and faded the
same way.

Parameter sets: every re-encoded piece starts with an IDR picture and uses parameter set ids the
source does not use (x264 takes an SPS/PPS id; x265 has no such option, so its VPS, SPS and PPS
ids and the slices' PPS id are rewritten, see `Hvcc.adopt`); the output's ``avcC`` or ``hvcC``
lists the source's parameter sets and the encoder's, so each picture decodes with its own.
Anything this cannot vouch for raises `CannotCopy` (another codec or profile, 10-bit or 4:2:2
pictures, open GOPs, parameter sets that change inside the stream, missing timestamps); the
caller then re-encodes everything.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import ClassVar

import av

from egvs.media.cuts import CutFinder
from egvs.media.probe import MediaInfo, picture_stream
from egvs.segments import Segment

# Source containers whose H.264 or HEVC carries its parameter sets in an avcC or hvcC record, as
# the output's does.
COPY_CONTAINERS = ("mov", "mp4", "matroska")
PROFILES = {66: "baseline", 77: "main", 100: "high"}  # 8-bit 4:2:0 H.264 profiles x264 writes
NAL_SPS, NAL_PPS, NAL_AUD, NAL_IDR = 7, 8, 9, 5
HEVC_VPS, HEVC_SPS, HEVC_PPS, HEVC_AUD = 32, 33, 34, 35
HEVC_IDR = (19, 20)  # IDR_W_RADL, IDR_N_LP
HEVC_IRAP = range(16, 24)  # slices whose header has no_output_of_prior_pics_flag
HEVC_MAIN = 1  # general_profile_idc of the Main profile, the only one x265 matches here
PIECE_WORKERS = 2  # re-encoded pieces at once: the machine this is tuned on has 2 cores


class CannotCopy(Exception):
    """The source cannot be smart-rendered exactly; the message says why."""


def _unescape(nal: bytes) -> bytes:
    """A NAL unit's payload without its emulation-prevention bytes."""
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def _escape(rbsp: bytes) -> bytes:
    """``rbsp`` with emulation-prevention bytes, as a NAL unit carries it."""
    return re.sub(rb"\x00\x00(?=[\x00-\x03])", b"\x00\x00\x03", rbsp)


def _exp_golomb(data: bytes, bit: int) -> tuple[int, int]:
    """The unsigned Exp-Golomb number at ``bit`` of ``data`` and the bit after it."""
    zeros = 0
    while not data[(bit + zeros) // 8] >> (7 - (bit + zeros) % 8) & 1:
        zeros += 1
    bit += zeros + 1
    value = 0
    for _ in range(zeros):
        value = value << 1 | data[bit // 8] >> (7 - bit % 8) & 1
        bit += 1
    return (1 << zeros) - 1 + value, bit


def _exp_golomb_code(value: int) -> str:
    """``value`` as unsigned Exp-Golomb bits."""
    code = f"{value + 1:b}"
    return "0" * (len(code) - 1) + code


def parameter_set_id(nal: bytes) -> int:
    """The id an SPS or PPS NAL unit defines (an SPS's follows its profile and level bytes)."""
    data = _unescape(nal[:16])
    return _exp_golomb(data, 32 if nal[0] & 0x1F == NAL_SPS else 8)[0]


class Record(ABC):
    """A decoder configuration record (avcC, hvcC): the stream's parameter sets, how its samples
    hold their NAL units, and how an encoder's pieces are made to decode beside them."""

    length_size: int
    encoder: ClassVar[str]  # the encoder of the re-encoded pieces
    parameter_set_types: ClassVar[tuple[int, ...]]
    aud_type: ClassVar[int]
    idr_types: ClassVar[tuple[int, ...]]

    @staticmethod
    @abstractmethod
    def nal_type(unit: bytes) -> int:
        """The type of a NAL unit."""

    @abstractmethod
    def parameter_sets(self) -> list[bytes]:
        """The parameter sets this record lists."""

    @abstractmethod
    def encoder_options(self, preset: str) -> dict[str, str]:
        """The encoder's options: this stream's profile and level, no B-frames (so the pieces'
        pictures come out in order and each piece's DTS follow from its PTS), parameter set
        ids this stream does not use where the encoder takes them."""

    @abstractmethod
    def adopt(self, unit: bytes) -> bytes:
        """An encoder's NAL unit as the output carries it: its parameter set ids the unused
        ones (`CannotCopy` where that cannot be vouched for)."""

    @abstractmethod
    def with_sets(self, units: Sequence[bytes]) -> bytes:
        """This record with the parameter sets ``units`` (adopted) listed after its own."""

    def is_parameter_set(self, unit: bytes) -> bool:
        return bool(unit) and self.nal_type(unit) in self.parameter_set_types

    def nal_units(self, data: bytes) -> list[bytes]:
        """The NAL units of a sample of this stream (each after its length)."""
        units, pos, n = [], 0, self.length_size
        while pos + n <= len(data):
            size = int.from_bytes(data[pos : pos + n], "big")
            units.append(data[pos + n : pos + n + size])
            pos += n + size
        if pos != len(data):
            raise CannotCopy("a sample's NAL lengths do not add up")
        return units

    def sample(self, units: Sequence[bytes]) -> bytes:
        """``units`` as one sample of this stream: each NAL unit after its length."""
        limit = 1 << (8 * self.length_size)
        if any(len(u) >= limit for u in units):
            raise CannotCopy(f"a NAL unit is too long for {self.length_size}-byte lengths")
        return b"".join(len(u).to_bytes(self.length_size, "big") + u for u in units)


@dataclass
class Avcc(Record):
    """An ``AVCDecoderConfigurationRecord``: the parameter sets and NAL length size of a stream."""

    profile: int
    compatibility: int
    level: int
    length_size: int
    sps: list[bytes]
    pps: list[bytes]
    extension: bytes = b""  # chroma format and bit depths, written for the high profiles

    encoder: ClassVar[str] = "libx264"
    parameter_set_types: ClassVar[tuple[int, ...]] = (NAL_SPS, NAL_PPS)
    aud_type: ClassVar[int] = NAL_AUD
    idr_types: ClassVar[tuple[int, ...]] = (NAL_IDR,)

    @classmethod
    def parse(cls, data: bytes) -> Avcc:
        if len(data) < 7 or data[0] != 1:
            raise CannotCopy("the H.264 stream has no avcC record (Annex B in this container)")
        pos, sets = 6, []  # the SPS, then the PPS
        for count_mask in (0x1F, 0xFF):
            count = data[pos - 1] & count_mask
            found = []
            for _ in range(count):
                size = int.from_bytes(data[pos : pos + 2], "big")
                found.append(data[pos + 2 : pos + 2 + size])
                pos += 2 + size
            sets.append(found)
            pos += 1
        sps, pps = sets
        return cls(data[1], data[2], data[3], (data[4] & 3) + 1, sps, pps, data[pos - 1 :])

    def to_bytes(self) -> bytes:
        out = bytearray([1, self.profile, self.compatibility, self.level])
        out += bytes([0xFC | (self.length_size - 1), 0xE0 | len(self.sps)])
        for nal in self.sps:
            out += len(nal).to_bytes(2, "big") + nal
        out.append(len(self.pps))
        for nal in self.pps:
            out += len(nal).to_bytes(2, "big") + nal
        return bytes(out + self.extension)

    @staticmethod
    def nal_type(unit: bytes) -> int:
        return unit[0] & 0x1F

    def parameter_sets(self) -> list[bytes]:
        return self.sps + self.pps

    @cached_property
    def encoder_id(self) -> int:
        """The SPS/PPS id of the re-encoded pieces: the lowest the source does not use."""
        return min(set(range(32)) - {parameter_set_id(u) for u in self.parameter_sets()})

    def encoder_options(self, preset: str) -> dict[str, str]:
        return {
            "preset": preset,
            "crf": "20",
            "profile": PROFILES[self.profile],
            "level": str(self.level),
            "x264-params": f"sps-id={self.encoder_id}",
            "bf": "0",
        }

    def adopt(self, unit: bytes) -> bytes:
        if self.is_parameter_set(unit) and parameter_set_id(unit) != self.encoder_id:
            raise CannotCopy("x264 did not take the parameter set id it was given")
        return unit

    def with_sets(self, units: Sequence[bytes]) -> bytes:
        sps = [u for u in units if self.nal_type(u) == NAL_SPS]
        pps = [u for u in units if self.nal_type(u) == NAL_PPS]
        return Avcc(
            self.profile,
            self.compatibility,
            self.level,
            self.length_size,
            self.sps + [self.adopt(u) for u in sps],
            self.pps + [self.adopt(u) for u in pps],
            self.extension,
        ).to_bytes()


def _rewritten(nal: bytes, edits: Sequence[tuple[int, int, str]]) -> bytes:
    """``nal`` with each (bit, length, bits) of ``edits`` done: the ``length`` payload bits at
    ``bit`` (a position in ``nal``'s payload, the edits in order of it) replaced by ``bits``.
    Together they must change the length by whole bytes, so that what follows stays
    byte-aligned (a slice's data, a parameter set's trailing bits)."""
    rbsp = _unescape(nal)
    size = max(bit + length for bit, length, _ in edits) // 8 + 1
    bits = "".join(f"{byte:08b}" for byte in rbsp[:size])
    for bit, length, replacement in reversed(edits):
        bits = bits[:bit] + replacement + bits[bit + length :]
    if len(bits) % 8:
        raise CannotCopy("a parameter set id cannot be rewritten in place")
    head = int(bits, 2).to_bytes(len(bits) // 8, "big")
    return _escape(head + rbsp[size:])


def _hevc_sps_id_bit(rbsp: bytes) -> int:
    """Where an HEVC SPS's own id starts: after its VPS id, sub-layer count and nesting flag
    (16 bits), and its profile_tier_level (96 bits, more for each sub-layer it describes)."""
    sub_layers = rbsp[2] >> 1 & 7
    bit = 24 + 96
    if sub_layers:
        flags = f"{int.from_bytes(rbsp[bit // 8 : bit // 8 + 2], 'big'):016b}"
        bit += 16
        for i in range(sub_layers):
            bit += 88 * int(flags[2 * i]) + 8 * int(flags[2 * i + 1])
    return bit


def _hevc_ids(unit: bytes) -> tuple[int, int]:
    """(NAL type, the id it defines) of an HEVC VPS, SPS or PPS."""
    kind, rbsp = Hvcc.nal_type(unit), _unescape(unit[:128])  # an SPS id is within 102 bytes
    if kind == HEVC_VPS:
        return kind, rbsp[2] >> 4
    return kind, _exp_golomb(rbsp, _hevc_sps_id_bit(rbsp) if kind == HEVC_SPS else 16)[0]


@dataclass
class Hvcc(Record):
    """An ``HEVCDecoderConfigurationRecord``: the stream's profile, tier and level, its NAL
    length size and its arrays of NAL units (VPS, SPS, PPS, SEI) by type."""

    header: bytes  # the 22 bytes before the arrays
    length_size: int
    arrays: list[tuple[int, list[bytes]]]  # (completeness bit and NAL type, units)

    encoder: ClassVar[str] = "libx265"
    parameter_set_types: ClassVar[tuple[int, ...]] = (HEVC_VPS, HEVC_SPS, HEVC_PPS)
    aud_type: ClassVar[int] = HEVC_AUD
    idr_types: ClassVar[tuple[int, ...]] = HEVC_IDR

    @classmethod
    def parse(cls, data: bytes) -> Hvcc:
        if len(data) < 23 or data[0] != 1:
            raise CannotCopy("the HEVC stream has no hvcC record (Annex B in this container)")
        pos, arrays = 23, []
        for _ in range(data[22]):
            kind, count = data[pos], int.from_bytes(data[pos + 1 : pos + 3], "big")
            pos, units = pos + 3, []
            for _ in range(count):
                size = int.from_bytes(data[pos : pos + 2], "big")
                units.append(data[pos + 2 : pos + 2 + size])
                pos += 2 + size
            arrays.append((kind, units))
        return cls(data[:22], (data[21] & 3) + 1, arrays)

    def to_bytes(self) -> bytes:
        out = bytearray(self.header) + bytes([len(self.arrays)])
        for kind, units in self.arrays:
            out += bytes([kind]) + len(units).to_bytes(2, "big")
            for nal in units:
                out += len(nal).to_bytes(2, "big") + nal
        return bytes(out)

    @staticmethod
    def nal_type(unit: bytes) -> int:
        return unit[0] >> 1 & 0x3F

    def parameter_sets(self) -> list[bytes]:
        return [u for _, units in self.arrays for u in units if self.is_parameter_set(u)]

    @cached_property
    def encoder_ids(self) -> dict[int, int]:
        """The VPS, SPS and PPS ids of the re-encoded pieces, by NAL type: ones the source does
        not use, the SPS and PPS ones with 9-bit codes, so that rewriting x265's (id 0, a
        1-bit code) adds a whole byte (`_rewritten`)."""
        used = {_hevc_ids(u) for u in self.parameter_sets()}
        free = {
            kind: [i for i in ids if (kind, i) not in used]
            for kind, ids in (
                (HEVC_VPS, range(16)),
                (HEVC_SPS, range(15, 16)),
                (HEVC_PPS, range(15, 31)),
            )
        }
        if not all(free.values()):
            raise CannotCopy("the HEVC stream uses the parameter set ids the pieces would need")
        return {kind: ids[0] for kind, ids in free.items()}

    def encoder_options(self, preset: str) -> dict[str, str]:
        if self.header[1] & 0xC0 or self.header[1] & 0x1F != HEVC_MAIN:
            raise CannotCopy(f"HEVC profile {self.header[1] & 0x1F} is not Main, which x265 writes")
        params = {
            "bframes": "0",
            "open-gop": "0",
            "level-idc": f"{self.header[12] / 30:.1f}",
            "high-tier": str(self.header[1] >> 5 & 1),
            "log-level": "none",  # a refusal is a CannotCopy, not a line on stderr
        }
        return {
            "preset": preset,
            "crf": "20",
            "profile": "main",
            "x265-params": ":".join(f"{k}={v}" for k, v in params.items()),
        }

    def adopt(self, unit: bytes) -> bytes:
        """x265 numbers its VPS, SPS and PPS 0 and has no option to change that, so they and
        every slice's PPS id are rewritten to `encoder_ids`."""
        kind, ids = self.nal_type(unit), self.encoder_ids
        vps = (16, 4, f"{ids[HEVC_VPS]:04b}")
        rbsp = _unescape(unit[:64])
        if kind == HEVC_VPS:
            edits = [vps]
        elif kind == HEVC_SPS:
            if rbsp[2] >> 1 & 7:
                raise CannotCopy("x265 wrote an SPS with temporal sub-layers")
            edits = [vps, (_hevc_sps_id_bit(rbsp), 1, _exp_golomb_code(ids[HEVC_SPS]))]
        elif kind == HEVC_PPS:
            pps, sps = _exp_golomb_code(ids[HEVC_PPS]), _exp_golomb_code(ids[HEVC_SPS])
            edits = [(16, 1, pps), (17, 1, sps)]
        elif kind < HEVC_VPS:  # a slice: its PPS id follows one or two flags
            edits = [(18 if kind in HEVC_IRAP else 17, 1, _exp_golomb_code(ids[HEVC_PPS]))]
        else:
            return unit
        bits = "".join(f"{byte:08b}" for byte in rbsp[:24])
        if any(length == 1 and bits[bit] != "1" for bit, length, _ in edits):
            raise CannotCopy("x265 wrote parameter set ids other than 0")
        return _rewritten(unit, edits)

    def with_sets(self, units: Sequence[bytes]) -> bytes:
        arrays = [(kind, list(own)) for kind, own in self.arrays]
        for unit in units:
            kind = self.nal_type(unit)
            slot = next((own for k, own in arrays if k & 0x3F == kind), None)
            if slot is None:
                arrays.append((kind, slot := []))
            slot.append(self.adopt(unit))
        return Hvcc(self.header, self.length_size, arrays).to_bytes()


def annexb_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream (start codes removed)."""
    # a NAL unit ends in a non-zero byte (its stop bit), so zeros before a start code are padding
    return [u for u in (p.rstrip(b"\x00") for p in data.split(b"\x00\x00\x01")) if u]


@dataclass
class _Gop:
    """A keyframe and the pictures after it in decode order, up to the next keyframe."""

    key: int  # the keyframe's pts
    idr: bool
    pts: list[int] = field(default_factory=list)  # decode order
    complete: bool = False  # the next keyframe (or the end of the file) was seen

    @property
    def clean(self) -> bool:
        """Decodes on its own: an IDR picture that no later picture is shown before."""
        return self.idr and min(self.pts) == self.key


@dataclass
class _Span:
    """One segment on the source's video ticks, and where it goes in the output."""

    seek: int  # where to seek (ticks) to land on the keyframe of the first GOP
    first: int  # pts of the first kept picture; the kept ones have first <= pts < end
    end: int
    offset: int  # output ticks where it starts
    length: int  # output ticks it lasts
    gops: list[_Gop]

    def kept(self, gop: _Gop) -> list[int]:
        return sorted(p for p in gop.pts if self.first <= p < self.end)

    def copies(self, gop: _Gop) -> bool:
        return gop.complete and all(self.first <= p < self.end for p in gop.pts)


@dataclass
class SmartPlan:
    """What `plan` found: the spans to write and the parameter sets they need."""

    record: Record
    options: dict[str, str]  # the encoder's
    spans: list[_Span]
    delay: int  # ticks every DTS is put before its picture's sorted PTS

    @property
    def copied_frames(self) -> int:
        return sum(len(g.pts) for s in self.spans for g in s.gops if s.copies(g))

    @property
    def kept_frames(self) -> int:
        return sum(len(s.kept(g)) for s in self.spans for g in s.gops)


def check_source(inp: av.container.InputContainer, vin: av.VideoStream) -> Record:
    """The source's avcC or hvcC if its video can be smart-rendered at all, else `CannotCopy`."""
    ctx = vin.codec_context
    if ctx.name not in ("h264", "hevc"):
        raise CannotCopy(f"smart rendering handles H.264 and HEVC, not {ctx.name}")
    if not any(name in inp.format.name.split(",") for name in COPY_CONTAINERS):
        raise CannotCopy(f"smart rendering reads MP4, MOV or MKV, not {inp.format.name}")
    if ctx.pix_fmt != "yuv420p":
        raise CannotCopy(f"smart rendering handles 8-bit 4:2:0 pictures, not {ctx.pix_fmt}")
    if ctx.name == "hevc":
        return Hvcc.parse(bytes(ctx.extradata or b""))
    avcc = Avcc.parse(bytes(ctx.extradata or b""))
    if avcc.profile not in PROFILES:
        raise CannotCopy(f"H.264 profile {avcc.profile} is not one x264 can match")
    return avcc


def _parameter_sets(record: Record, units: list[bytes]) -> None:
    """`CannotCopy` for in-band parameter sets other than the record's: a copied GOP might need
    one sent in a part that is cut away."""
    known = set(record.parameter_sets())
    for unit in units:
        if record.is_parameter_set(unit) and unit not in known:
            raise CannotCopy("the parameter sets change inside the stream")


def _packets(
    inp: av.container.InputContainer, vin: av.VideoStream, seek: int
) -> Iterator[av.Packet]:
    """The video packets from the keyframe a seek to ``seek`` lands on."""
    inp.seek(seek, stream=vin, backward=True)
    for packet in inp.demux(vin):
        if packet.size == 0:
            continue
        if packet.pts is None:
            raise CannotCopy("the video has packets without timestamps")
        yield packet


def _scan(
    inp: av.container.InputContainer, vin: av.VideoStream, record: Record, seek: int, stop: int
) -> list[_Gop]:
    """The GOPs from the keyframe a seek to ``seek`` lands on to the one after the first
    keyframe at or after ``stop`` (whose leading pictures, if any, must be seen too)."""
    gops: list[_Gop] = []
    late = 0  # keyframes seen at or after stop
    for packet in _packets(inp, vin, seek):
        data = bytes(packet)
        units = record.nal_units(data)
        _parameter_sets(record, units)
        if packet.is_keyframe:
            if gops:
                gops[-1].complete = True
            late += packet.pts >= stop
            if late == 2:
                break
            idr = any(u and record.nal_type(u) in record.idr_types for u in units)
            gops.append(_Gop(packet.pts, idr))
        if gops:
            gops[-1].pts.append(packet.pts)
    else:
        if gops:
            gops[-1].complete = True  # the end of the file
    return gops


class Keyframes:
    """A smart-renderable source's keyframes near given times, and whether the pictures after
    one show a single shot, read through one open file (a context manager). A source
    `check_source` refuses has no keyframes here."""

    def __init__(self, info: MediaInfo) -> None:
        self.info = info
        self.inp = av.open(str(info.path))
        self.vin = picture_stream(self.inp)
        try:
            if self.vin is None or self.vin.time_base is None:
                raise CannotCopy("no timed video")
            check_source(self.inp, self.vin)
        except CannotCopy:
            self.vin = None
        else:
            self.vin.codec_context.options = {"skip_loop_filter": "all"}

    def __enter__(self) -> Keyframes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.inp.close()

    def _ticks(self, seconds: float) -> int:
        assert self.vin is not None and self.vin.time_base is not None
        at = Fraction(self.info.start_time + seconds).limit_denominator(10**6)
        return max(0, round(at / self.vin.time_base))

    def near(self, times: Sequence[float], radius: float) -> list[float]:
        """The keyframes within ``radius`` s of each of ``times`` (seconds from the file's start,
        as segments count them), read from the packets, decoding nothing."""
        if self.vin is None:
            return []
        found: set[float] = set()
        try:
            for t in sorted(times):
                for packet in _packets(self.inp, self.vin, self._ticks(t - radius)):
                    at = float(packet.pts * packet.time_base) - self.info.start_time
                    if at > t + radius:
                        break
                    if packet.is_keyframe and at >= t - radius:
                        found.add(round(at, 6))
        except CannotCopy:
            return []
        return sorted(found)

    def one_shot(self, start: float, end: float) -> bool:
        """Whether the pictures from the keyframe at ``start`` up to ``end`` show one shot: no
        cut (`CutFinder`) among them. Decodes only those, without the loop filter."""
        if self.vin is None:
            return False
        self.inp.seek(self._ticks(start), stream=self.vin)
        finder = CutFinder()
        for frame in self.inp.decode(self.vin):
            if frame.time is None:
                continue
            t = float(frame.time) - self.info.start_time
            if t >= end:
                break
            if t >= start - 1e-3 and finder.is_cut(frame):
                return False
        return True


def plan(
    inp: av.container.InputContainer,
    vin: av.VideoStream,
    info: MediaInfo,
    segments: Sequence[Segment],
    rate: Fraction,
    preset: str,
) -> SmartPlan:
    """Find the GOPs of every segment (reading packets, decoding nothing); `CannotCopy` if any
    of them cannot be cut exactly this way."""
    record = check_source(inp, vin)
    options = record.encoder_options(preset)
    tb = vin.time_base
    assert tb is not None
    half = round(Fraction(1, 2) / rate / tb)
    origin = vin.start_time or 0  # ticks of the stream's first packet
    spans = []
    elapsed = Fraction(0)
    for seg in segments:
        n_frames = max(1, round(seg.duration * rate))
        length = Fraction(n_frames) / rate
        start = round(Fraction(info.start_time + seg.start).limit_denominator(10**6) / tb)
        back = round(Fraction(1, 20) / tb)
        while True:
            seek = max(origin, start - back)
            gops = _scan(inp, vin, record, seek, start + round(length / tb))
            if (gops and gops[0].key <= start + half) or seek <= origin:
                break
            back = max(round(1 / tb), 2 * back)
        if not gops:
            raise CannotCopy("no keyframe found for a segment")
        shown = sorted(p for g in gops for p in g.pts)
        if len(set(shown)) != len(shown):
            raise CannotCopy("two pictures share a timestamp")
        first = max((p for p in shown if p <= start + half), default=shown[0])
        if not all(g.clean for g in gops):
            raise CannotCopy("the video has open GOPs (keyframes that are not IDR pictures)")
        offset = round(elapsed / tb)
        elapsed += length
        spans.append(
            _Span(
                seek,
                first,
                first + round(length / tb) - half,
                offset,
                round(elapsed / tb) - offset,
                gops,
            )
        )
    delay = max(
        (
            sorted_pts - pts
            for s in spans
            for g in s.gops
            if s.copies(g)
            for sorted_pts, pts in zip(sorted(g.pts), g.pts, strict=True)
        ),
        default=0,
    )
    return SmartPlan(record, options, spans, delay)


def _encoder(vin: av.VideoStream, smart: SmartPlan, rate: Fraction) -> av.VideoCodecContext:
    """An x264 or x265 encoder for a re-encoded piece: the source's size and time base,
    parameter sets out of band, `Record.encoder_options` (profile, level, no B-frames)."""
    ctx = vin.codec_context
    enc = av.CodecContext.create(smart.record.encoder, "w")
    assert isinstance(enc, av.VideoCodecContext)
    enc.width, enc.height, enc.pix_fmt = ctx.width, ctx.height, "yuv420p"
    enc.time_base = vin.time_base
    enc.framerate = rate
    if ctx.sample_aspect_ratio:
        enc.sample_aspect_ratio = ctx.sample_aspect_ratio
    # the same colour description in the SPS, so players keep one colour matrix across cuts
    enc.color_range, enc.colorspace = ctx.color_range, ctx.colorspace
    enc.color_primaries, enc.color_trc = ctx.color_primaries, ctx.color_trc
    enc.flags |= av.codec.context.Flags.global_header
    enc.thread_type = "FRAME"
    enc.options = smart.options
    try:
        enc.open()
    except av.error.FFmpegError:
        raise CannotCopy(f"{smart.record.encoder} refuses the source's profile or level") from None
    return enc


def _encoder_sets(enc: av.VideoCodecContext, record: Record) -> list[bytes]:
    """The parameter sets the encoder wrote (as it wrote them, before `Record.adopt`)."""
    return [u for u in annexb_units(bytes(enc.extradata or b"")) if record.is_parameter_set(u)]


def output_record(vin: av.VideoStream, smart: SmartPlan, rate: Fraction) -> bytes:
    """The output's avcC or hvcC: the source's parameter sets, then the re-encoded pieces'."""
    return smart.record.with_sets(_encoder_sets(_encoder(vin, smart, rate), smart.record))


def _gops(
    inp: av.container.InputContainer, vin: av.VideoStream, span: _Span
) -> Iterator[tuple[_Gop, list[av.Packet]]]:
    """Each planned GOP of ``span`` with its packets, read again from the same seek."""
    group: list[av.Packet] = []
    done = 0

    def check(gop: _Gop) -> tuple[_Gop, list[av.Packet]]:
        if [p.pts for p in group] != gop.pts:
            raise CannotCopy("the file's packets read differently the second time")
        return gop, group

    for packet in _packets(inp, vin, span.seek):
        if packet.is_keyframe and group:
            yield check(span.gops[done])
            done, group = done + 1, []
            if done == len(span.gops):
                return
        if packet.is_keyframe or group:
            group.append(packet)
    if group:
        yield check(span.gops[done])


class SpanWriter:
    """Writes the video of each span: copied GOPs as they are, the rest through the encoder.

    `write` reads a span's packets and starts its re-encoded pieces on `PIECE_WORKERS` threads
    (x264 and the decoder release the GIL), so they run beside each other, beside the caller's
    work on the span's sound and beside the next span's reading; the span's pictures are muxed
    in order by the next `write`, or by `flush` after the last span. Close it (it is a context
    manager) to stop pieces left running after an error.
    """

    def __init__(
        self,
        inp: av.container.InputContainer,
        vin: av.VideoStream,
        out: av.container.OutputContainer,
        vout: av.VideoStream,
        smart: SmartPlan,
        rate: Fraction,
    ) -> None:
        self.inp, self.vin, self.out, self.vout = inp, vin, out, vout
        self.smart, self.rate = smart, rate
        self.sets = _encoder_sets(_encoder(vin, smart, rate), smart.record)
        self.pool = ThreadPoolExecutor(PIECE_WORKERS, thread_name_prefix="egvs-piece")
        # the last written span's picture times, and its GOPs in order: copied packets (with the
        # pts each packet's dts comes from), or a re-encoded piece's pictures
        self.shows: dict[int, tuple[int, int]] = {}
        self.queued: list[list[tuple[av.Packet, int]] | Future[list[av.Packet]]] = []

    def __enter__(self) -> SpanWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def write(self, span: _Span) -> None:
        """Read ``span``'s packets and start its pieces; then mux the span written before."""
        # each kept picture's output time and how long it shows (the last, to the span's end)
        kept = sorted(p for g in span.gops for p in span.kept(g))
        ends = [*kept[1:], span.first + span.length]
        shows = {p: (span.offset + p - span.first, end - p) for p, end in zip(kept, ends)}
        queued: list[list[tuple[av.Packet, int]] | Future[list[av.Packet]]] = []
        for gop, packets in _gops(self.inp, self.vin, span):
            if span.copies(gop):
                queued.append(list(zip(packets, sorted(gop.pts), strict=True)))
            elif span.kept(gop):
                queued.append(self.pool.submit(self._encode, span.kept(gop), packets))
        self.flush()
        self.shows, self.queued = shows, queued

    def flush(self) -> None:
        """Mux the last written span's pictures, in order, once its pieces are encoded."""
        for item in self.queued:
            if isinstance(item, Future):
                for sample in item.result():
                    self._mux(sample, sample.pts, sample.pts)
            else:
                for packet, dts_from in item:
                    self._mux(packet, packet.pts, dts_from)
        self.queued = []

    def _mux(self, packet: av.Packet, pts: int, dts_from: int) -> None:
        at, lasts = self.shows[pts]
        packet.pts, packet.duration = at, lasts
        packet.dts = self.shows[dts_from][0] - self.smart.delay
        packet.time_base = self.vin.time_base
        packet.stream = self.vout
        self.out.mux(packet)

    def _encode(self, kept: list[int], packets: list[av.Packet]) -> list[av.Packet]:
        """The ``kept`` pictures of one GOP re-encoded, as samples whose pts is the source
        picture's (no B-frames: they come out in the order they went in)."""
        dec = av.CodecContext.create(self.vin.codec_context.name, "r")
        dec.extradata = self.vin.codec_context.extradata
        dec.thread_type = "AUTO"
        enc = _encoder(self.vin, self.smart, self.rate)
        if _encoder_sets(enc, self.smart.record) != self.sets:
            raise CannotCopy("the encoder wrote different parameter sets for two pieces")
        wanted, made = set(kept), iter(kept)
        samples: list[av.Packet] = []
        for packet in [*packets, None]:
            for frame in dec.decode(packet):
                if frame.pts not in wanted:
                    continue
                if frame.interlaced_frame:
                    raise CannotCopy("the video is interlaced")
                frame.pict_type = av.video.frame.PictureType.NONE
                frame.time_base = self.vin.time_base
                samples += self._samples(enc.encode(frame), made)
                wanted.discard(frame.pts)
            if not wanted:
                break  # a GOP's pictures after the segment's end need no decoding
        samples += self._samples(enc.encode(None), made)
        if next(made, None) is not None:
            raise CannotCopy("the decoder returned fewer pictures than the packets hold")
        return samples

    def _samples(self, encoded: list[av.Packet], made: Iterator[int]) -> list[av.Packet]:
        out = []
        for packet in encoded:
            record = self.smart.record
            units = [
                u for u in annexb_units(bytes(packet)) if record.nal_type(u) != record.aud_type
            ]
            inband = [u for u in units if record.is_parameter_set(u)]
            if any(u not in self.sets for u in inband):
                raise CannotCopy("the encoder wrote parameter sets inside a piece")
            pictures = [record.adopt(u) for u in units if u not in inband]
            sample = av.Packet(record.sample(pictures))
            sample.is_keyframe = packet.is_keyframe
            sample.pts = next(made)
            out.append(sample)
        return out
