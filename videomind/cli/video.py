"""``videomind video``: compress dataset videos (3 fps, short side 480, no audio) and inspect a video."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from videomind.errors import UserInputError

DEFAULT_FPS = 3.0
DEFAULT_HEIGHT = 480


def register(subparsers) -> None:
    parser = subparsers.add_parser("video", help="video tools: compress a dataset's videos, inspect a video")
    sub = parser.add_subparsers(dest="video_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)

    compress = sub.add_parser(
        "compress",
        help="make the videos_3fps_480_noaudio copies",
        description="Re-encode every video under SRC into DST (same relative paths, .mp4): H.264, no audio, "
        "short side HEIGHT (never upscaled), FPS frames per second, duration kept. Resumable: finished outputs "
        "are skipped and each file is written under a temporary name first; bad files are reported and skipped.",
    )
    compress.add_argument("src", type=Path, help="source folder (or one video file)")
    compress.add_argument("dst", type=Path, help="output folder (or output file when SRC is a file)")
    compress.add_argument(
        "--fps", type=float, default=DEFAULT_FPS, help="output frame rate (default %(default)s)"
    )
    compress.add_argument(
        "--height", type=int, default=DEFAULT_HEIGHT, help="short side in pixels (default %(default)s)"
    )
    compress.add_argument("--workers", type=int, default=1, help="parallel processes (default %(default)s)")
    compress.add_argument("--no-progress", action="store_true", help="no progress bar")
    compress.add_argument("--json", action="store_true", help="print the report as JSON")
    compress.set_defaults(func=_compress)

    info = sub.add_parser("info", help="frame count, rate, size, duration and rotation of a video")
    info.add_argument("path", type=Path, help="a video file")
    info.add_argument("--backend", default="auto", choices=("auto", "pyav", "decord"))
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=_info)


def _compress(args: argparse.Namespace) -> int:
    from videomind.video.compress import compress_videos

    if args.fps <= 0 or args.height < 2 or args.workers < 1:
        raise UserInputError("--fps must be > 0, --height >= 2 and --workers >= 1")
    report = compress_videos(args.src, args.dst, args.fps, args.height, args.workers, not args.no_progress)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(
            f"written {len(report.written)}, already done {len(report.skipped)}, failed {len(report.failed)}"
        )
        for source, reason in report.failed:
            print(f"FAILED {source}: {reason}")
    return 1 if report.failed else 0


def _info(args: argparse.Namespace) -> int:
    from videomind.video import open_video, probe_duration

    with open_video(args.path, backend=args.backend) as reader:
        data = {
            "path": reader.path,
            "backend": reader.backend,
            "num_frames": reader.num_frames,
            "fps": reader.fps,
            "duration": reader.duration,
            "container_duration": probe_duration(args.path),
            "height": reader.height,
            "width": reader.width,
            "rotation": reader.rotation,
            "variable_frame_rate": reader.is_vfr,
        }
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for key, value in data.items():
            print(f"{key:>20}: {value}")
    return 0
