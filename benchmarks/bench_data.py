"""Data-loading throughput, as ratios to plain `cv2.imread` of the same frames in the same run.

Footage: one synthetic scene rendered at the paper's 256x256, stored as JPEG frames and as an mp4;
every reader resizes to the demo model size (64x64). Writes benchmarks/results/bench_data.json.

    python benchmarks/bench_data.py [--frames 1200]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
from _common import timed, write_result
from torch.utils.data import DataLoader

from ipad_vad.data.clip_dataset import ClipDataset, VideoRecord
from ipad_vad.data.frames import JpegFolderSource, list_frame_files
from ipad_vad.data.synth.generator import SynthConfig, generate
from ipad_vad.data.video_reader import VideoFileSource


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scene", default="S05")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--out-size", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    size = (args.out_size, args.out_size)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ipad"
        generate(
            root,
            SynthConfig(
                scenes=(args.scene,),
                size=(args.size, args.size),
                fps=3,
                train_videos=1,
                train_cycles=30,
                test_videos=0,
                write_mp4=True,
                workers=2,
            ),
        )
        frames_dir = root / args.scene / "training/frames/01"
        mp4 = root / args.scene / "videos/training_01.mp4"
        files = list_frame_files(frames_dir)
        n = len(files)

        def plain_imread():
            for p in files:
                assert cv2.imread(str(p)) is not None

        def jpeg_resize():
            src = JpegFolderSource(frames_dir, size=size)
            for s in range(0, n, 64):
                src.read(range(s, min(n, s + 64)))

        def decord_resize():
            src = VideoFileSource(mp4, size=size)
            for _ in src.iter_chunks(64):
                pass

        clip_len = 16
        ds = ClipDataset([VideoRecord(JpegFolderSource(frames_dir, size=size))], clip_len=clip_len, stride=clip_len)

        def loader_2w():
            for _ in DataLoader(ds, batch_size=8, num_workers=2):
                pass

        t_base = timed(plain_imread, args.repeat)
        rows = {}
        for name, fn, n_frames in (
            ("jpeg_folder_read_resize", jpeg_resize, n),
            ("decord_mp4_read_resize", decord_resize, n),
            ("clip_dataset_dataloader_2_workers", loader_2w, len(ds) * clip_len),
        ):
            t = timed(fn, args.repeat)
            rows[name] = {
                "frames_per_s": round(n_frames / t, 1),
                "ratio_to_cv2_imread": round((n_frames / t) / (n / t_base), 3),
            }
        rows["cv2_imread_baseline"] = {"frames_per_s": round(n / t_base, 1), "ratio_to_cv2_imread": 1.0}
    write_result(
        "bench_data",
        {
            "frames": n,
            "source_size": [args.size, args.size],
            "resized_to": list(size),
            "note": "ratio = frames/s of the reader / frames/s of plain cv2.imread (no resize) of the same JPEG frames, "
            "best of --repeat runs, measured in the same process; the DataLoader row counts each frame once "
            "(non-overlapping 16-frame clips, batch 8).",
            "results": rows,
        },
    )


if __name__ == "__main__":
    main()
