"""``model:``: the Video Swin encoder/decoder shared by ipad_vad and v_swin_ae. The encoder's defaults
are models/video_swin.VideoSwinEncoder's (the Video Swin-T sizes)."""

from __future__ import annotations

from ._base import Pos, PosFloat, Section, Share


class Encoder(Section):
    embed_dim: Pos = 96
    depths: list[Pos] = [2, 2, 6, 2]
    heads: list[Pos] = [3, 6, 12, 24]
    window: list[Pos] = [2, 7, 7]
    patch: list[Pos] = [4, 4, 4]
    mlp_ratio: PosFloat = 4.0
    drop_path: Share = 0.1


class Decoder(Section):
    min_dim: Pos = 16


class Model(Section):
    pretrained_encoder: str = ""  # a local Video Swin checkpoint ("": none; never downloaded)
    encoder: Encoder = Encoder()
    decoder: Decoder = Decoder()
