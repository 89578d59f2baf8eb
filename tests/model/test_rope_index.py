"""M-RoPE positions of a batch: every row gets the positions it would get alone (the official code ran batch 1)."""

import torch

from videomind.model.rope_index import TokenIds, official_rope_index

IDS = TokenIds(
    vision_start=1, vision_end=2, video_pad=3, image_pad=4, pad=0, eos=(9,), seg_start=5, seg_end=6
)


def _row(grid: tuple[int, int, int], seg_first: bool) -> list[int]:
    t, h, w = grid
    pads = [IDS.video_pad] * (t * h * w // 4)
    video = [IDS.seg_start, *pads, IDS.seg_end] if seg_first else pads
    return [7, 8, IDS.vision_start, *video, IDS.vision_end, 8, 7, 7]


def _alone(row: list[int], grid) -> torch.Tensor:
    ids = torch.tensor([row])
    return official_rope_index(ids, None, torch.tensor([grid]), IDS)[0][:, 0]


def test_an_unrecognised_video_keeps_the_next_rows_grid_aligned():
    grids = [(2, 4, 4), (3, 4, 6)]
    rows = [_row(grids[0], seg_first=True), _row(grids[1], seg_first=False)]
    length = max(map(len, rows))
    ids = torch.zeros(2, length, dtype=torch.long)
    mask = torch.zeros(2, length, dtype=torch.long)
    for b, row in enumerate(rows):  # left padding, as in generation
        ids[b, length - len(row) :] = torch.tensor(row)
        mask[b, length - len(row) :] = 1
    positions, deltas = official_rope_index(ids, mask, torch.tensor(grids), IDS)
    for b, row in enumerate(rows):
        keep = mask[b].bool()
        assert torch.equal(positions[:, b, keep], _alone(row, grids[b]))
    # the first row's video is not recognised (<|seg_start|> follows <|vision_start|>): plain 1-D positions
    assert torch.equal(positions[0, 0, mask[0].bool()], torch.arange(len(rows[0])))
    assert deltas[0].item() == 0 and deltas[1].item() < 0
