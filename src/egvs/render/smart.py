"""Smart rendering: stream-copy the whole GOPs a segment keeps, re-encode only its two ends.

A kept segment of an H.264 source (in MP4, MOV or Matroska) is written as the source's own
packets for every GOP that lies wholly inside it, and as x264 pictures from the cut to the next
keyframe and from the last keyframe to the segment's end. The copied packets are byte-identical
to the source's, and the cuts stay frame-exact: the segment keeps exactly the source frames the
full re-encode shows (`egvs.render.video`), at their own times, with the sound cut and faded the
same way.

Parameter sets: every re-encoded piece starts with an IDR picture and uses an SPS and PPS id the
source does not use; the output's ``avcC`` lists the source's parameter sets and the encoder's,
so each picture decodes with its own. Anything this cannot vouch for raises `CannotCopy`
(another codec, 10-bit or 4:2:2 pictures, open GOPs, parameter sets that change inside the
stream, missing timestamps); the caller then re-encodes everything.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import av

from egvs.media.probe import MediaInfo
from egvs.segments import Segment

# Source containers whose H.264 carries its parameter sets in an avcC record, as the output's does.
COPY_CONTAINERS = ("mov", "mp4", "matroska")
PROFILES = {66: "baseline", 77: "main", 100: "high"}  # 8-bit 4:2:0 H.264 profiles x264 writes
NAL_SPS, NAL_PPS, NAL_AUD, NAL_IDR = 7, 8, 9, 5


class CannotCopy(Exception):
    """The source cannot be smart-rendered exactly; the message says why."""


def _unescape(nal: bytes) -> bytes:
    """A NAL unit's payload without its emulation-prevention bytes."""
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


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


def parameter_set_id(nal: bytes) -> int:
    """The id an SPS or PPS NAL unit defines (an SPS's follows its profile and level bytes)."""
    data = _unescape(nal[:16])
    return _exp_golomb(data, 32 if nal[0] & 0x1F == NAL_SPS else 8)[0]


@dataclass
class Avcc:
    """An ``AVCDecoderConfigurationRecord``: the parameter sets and NAL length size of a stream."""

    profile: int
    compatibility: int
    level: int
    length_size: int
    sps: list[bytes]
    pps: list[bytes]
    extension: bytes = b""  # chroma format and bit depths, written for the high profiles

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

    def nal_units(self, data: bytes) -> list[bytes]:
        """The NAL units of a sample of this stream (each after its length)."""
        units, pos, n = [], 0, self.length_size
        while pos + n <= len(data):
            size = int.from_bytes(data[pos : pos + n], "big")
            units.append(data[pos + n : pos + n + size])
            pos += n + size
        if pos != len(data):
            raise CannotCopy("an H.264 sample's NAL lengths do not add up")
        return units

    def sample(self, units: Sequence[bytes]) -> bytes:
        """``units`` as one sample of this stream: each NAL unit after its length."""
        limit = 1 << (8 * self.length_size)
        if any(len(u) >= limit for u in units):
            raise CannotCopy(f"a NAL unit is too long for {self.length_size}-byte lengths")
        return b"".join(len(u).to_bytes(self.length_size, "big") + u for u in units)


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

    avcc: Avcc
    encoder_id: int  # SPS/PPS id of the re-encoded pieces
    options: dict[str, str]  # x264's
    spans: list[_Span]
    delay: int  # ticks every DTS is put before its picture's sorted PTS

    @property
    def copied_frames(self) -> int:
        return sum(len(g.pts) for s in self.spans for g in s.gops if s.copies(g))

    @property
    def kept_frames(self) -> int:
        return sum(len(s.kept(g)) for s in self.spans for g in s.gops)


def check_source(inp: av.container.InputContainer, vin: av.VideoStream) -> Avcc:
    """The source's avcC if its video can be smart-rendered at all, else `CannotCopy`."""
    ctx = vin.codec_context
    if ctx.name != "h264":
        raise CannotCopy(f"smart rendering handles H.264, not {ctx.name}")
    if not any(name in inp.format.name.split(",") for name in COPY_CONTAINERS):
        raise CannotCopy(f"smart rendering reads MP4, MOV or MKV, not {inp.format.name}")
    if ctx.pix_fmt != "yuv420p":
        raise CannotCopy(f"smart rendering handles 8-bit 4:2:0 pictures, not {ctx.pix_fmt}")
    avcc = Avcc.parse(bytes(ctx.extradata or b""))
    if avcc.profile not in PROFILES:
        raise CannotCopy(f"H.264 profile {avcc.profile} is not one x264 can match")
    return avcc


def _parameter_sets(avcc: Avcc, units: list[bytes]) -> None:
    """`CannotCopy` for in-band parameter sets other than the avcC's: a copied GOP might need
    one sent in a part that is cut away."""
    known = set(avcc.sps) | set(avcc.pps)
    for unit in units:
        if unit and unit[0] & 0x1F in (NAL_SPS, NAL_PPS) and unit not in known:
            raise CannotCopy("the H.264 parameter sets change inside the stream")


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
    inp: av.container.InputContainer, vin: av.VideoStream, avcc: Avcc, seek: int, stop: int
) -> list[_Gop]:
    """The GOPs from the keyframe a seek to ``seek`` lands on to the one after the first
    keyframe at or after ``stop`` (whose leading pictures, if any, must be seen too)."""
    gops: list[_Gop] = []
    late = 0  # keyframes seen at or after stop
    for packet in _packets(inp, vin, seek):
        data = bytes(packet)
        units = avcc.nal_units(data)
        _parameter_sets(avcc, units)
        if packet.is_keyframe:
            if gops:
                gops[-1].complete = True
            late += packet.pts >= stop
            if late == 2:
                break
            gops.append(_Gop(packet.pts, any(u and u[0] & 0x1F == NAL_IDR for u in units)))
        if gops:
            gops[-1].pts.append(packet.pts)
    else:
        if gops:
            gops[-1].complete = True  # the end of the file
    return gops


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
    avcc = check_source(inp, vin)
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
            gops = _scan(inp, vin, avcc, seek, start + round(length / tb))
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
    used = {parameter_set_id(u) for u in avcc.sps + avcc.pps}
    encoder_id = min(set(range(32)) - used)
    options = {
        "preset": preset,
        "crf": "20",
        "profile": PROFILES[avcc.profile],
        "level": str(avcc.level),
        "x264-params": f"sps-id={encoder_id}",
    }
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
    return SmartPlan(avcc, encoder_id, options, spans, delay)


def _encoder(vin: av.VideoStream, smart: SmartPlan, rate: Fraction) -> av.VideoCodecContext:
    """An x264 encoder for a re-encoded piece: the source's size, profile, level and time base,
    parameter sets out of band under `SmartPlan.encoder_id`, no B-frames (so its pictures come
    out in order and each piece's DTS follow from its PTS)."""
    ctx = vin.codec_context
    enc = av.CodecContext.create("libx264", "w")
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
    enc.options = {**smart.options, "bf": "0"}
    enc.open()
    return enc


def _encoder_sets(enc: av.VideoCodecContext) -> tuple[list[bytes], list[bytes]]:
    units = annexb_units(bytes(enc.extradata or b""))
    return (
        [u for u in units if u[0] & 0x1F == NAL_SPS],
        [u for u in units if u[0] & 0x1F == NAL_PPS],
    )


def output_avcc(vin: av.VideoStream, smart: SmartPlan, rate: Fraction) -> bytes:
    """The output's avcC: the source's parameter sets, then the re-encoded pieces' ones."""
    sps, pps = _encoder_sets(_encoder(vin, smart, rate))
    if {parameter_set_id(u) for u in sps + pps} != {smart.encoder_id}:
        raise CannotCopy("x264 did not take the parameter set id it was given")
    avcc = smart.avcc
    return Avcc(
        avcc.profile,
        avcc.compatibility,
        avcc.level,
        avcc.length_size,
        avcc.sps + sps,
        avcc.pps + pps,
        avcc.extension,
    ).to_bytes()


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
    """Writes the video of each span: copied GOPs as they are, the rest through x264."""

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
        self.sets = _encoder_sets(_encoder(vin, smart, rate))

    def write(self, span: _Span) -> None:
        # each kept picture's output time and how long it shows (the last, to the span's end)
        kept = sorted(p for g in span.gops for p in span.kept(g))
        ends = [*kept[1:], span.first + span.length]
        self.shows = {p: (span.offset + p - span.first, end - p) for p, end in zip(kept, ends)}
        for gop, packets in _gops(self.inp, self.vin, span):
            if span.copies(gop):
                self._copy(gop, packets)
            elif span.kept(gop):
                self._encode(span.kept(gop), packets)

    def _mux(self, packet: av.Packet, pts: int, dts_from: int) -> None:
        at, lasts = self.shows[pts]
        packet.pts, packet.duration = at, lasts
        packet.dts = self.shows[dts_from][0] - self.smart.delay
        packet.time_base = self.vin.time_base
        packet.stream = self.vout
        self.out.mux(packet)

    def _copy(self, gop: _Gop, packets: list[av.Packet]) -> None:
        for packet, dts_from in zip(packets, sorted(gop.pts), strict=True):
            self._mux(packet, packet.pts, dts_from)

    def _encode(self, kept: list[int], packets: list[av.Packet]) -> None:
        dec = av.CodecContext.create(self.vin.codec_context.name, "r")
        dec.extradata = self.vin.codec_context.extradata
        dec.thread_type = "AUTO"
        enc = _encoder(self.vin, self.smart, self.rate)
        if _encoder_sets(enc) != self.sets:
            raise CannotCopy("x264 wrote different parameter sets for two pieces")
        wanted, made = set(kept), iter(kept)
        for packet in [*packets, None]:
            for frame in dec.decode(packet):
                if frame.pts not in wanted:
                    continue
                if frame.interlaced_frame:
                    raise CannotCopy("the video is interlaced")
                frame.pict_type = av.video.frame.PictureType.NONE
                frame.time_base = self.vin.time_base
                self._put(enc.encode(frame), made)
                wanted.discard(frame.pts)
            if not wanted:
                break  # a GOP's pictures after the segment's end need no decoding
        self._put(enc.encode(None), made)
        if next(made, None) is not None:
            raise CannotCopy("the decoder returned fewer pictures than the packets hold")

    def _put(self, encoded: list[av.Packet], made: Iterator[int]) -> None:
        for packet in encoded:
            units = [u for u in annexb_units(bytes(packet)) if u[0] & 0x1F != NAL_AUD]
            inband = [u for u in units if u[0] & 0x1F in (NAL_SPS, NAL_PPS)]
            if any(u not in self.sets[0] + self.sets[1] for u in inband):
                raise CannotCopy("x264 wrote parameter sets inside a piece")
            sample = av.Packet(self.smart.avcc.sample([u for u in units if u not in inband]))
            sample.is_keyframe = packet.is_keyframe
            pts = next(made)
            self._mux(sample, pts, pts)
