"""Recall per edit kind and false positives, today's matcher against the new one (issue 17).

    OPENBLAS_NUM_THREADS=1 python bench/robustness.py --photos 20      # a quick run
    OPENBLAS_NUM_THREADS=1 python bench/robustness.py                  # every photo found
    ... --window-radius 24 --window70-radius 28 --review-distance 24   # other thresholds

Photos: bench/photoset.py (the pictures the tests never tune on; the count found is printed),
those of whole-image quality >= 50 and not within 64 bits (any orientation) of an earlier one.
Every photo is listed on a real node database (pdq, pdq80, pdq70 of its JPEG, as the device
sends them); each edit of each photo is uploaded as a JPEG (quality 90) and checked:
- *before*: the check before issue 17: an image's first picture, its whole-image PDQ in 8
  orientations; a video's vPDQ against listed videos only (`before_issue_17`);
- *after*: `Matcher.check_file` (every picture, photo rectangles, window search).
Container edits (GIF, APNG, WebP, TIFF, MP4) upload the file they make as it is.
--phone-frame first cuts the listed photos to a phone's frame, 4:3 and 3:4 in turn (the
wallpapers are mostly 16:9, from which a 1:1 crop cuts 22% off each side, past both centred
windows: the 70% one leaves 15%); a feed's crops of a phone photo cut 3-12.5% a side.
Caught = not `allow` and one of the photo's own entries among the matches; the last column
("strong") counts the uploads caught by a strong match (whole-image PDQ within the block
distance, or agreed windows), the ones acted on without a reviewer first. A false positive
is any match to another photo's entry, over every upload x every unrelated listed photo.
CPU is `process_time` per upload on one core.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from edits import EDITS, aspect  # noqa: E402
from photoset import photos  # noqa: E402
from takeitdown.hashing import classify, hash_image_bytes, load_image, pdq_dihedral  # noqa: E402
from takeitdown.hashing.video import vpdq_of_video  # noqa: E402
from takeitdown.node.db import Database  # noqa: E402
from takeitdown.node.index import PdqIndex  # noqa: E402
from takeitdown.node.matcher import _RANK, ItemHashes, Match, Matcher, Policy, Verdict  # noqa: E402
from takeitdown.node.store import NodeStore  # noqa: E402
from takeitdown.node.windowsearch import COARSE_RADIUS, PROBE_RADIUS, WindowIndex  # noqa: E402
from wire import feed_add  # noqa: E402


def _jpeg(im) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def before_issue_17(m: Matcher, data: bytes) -> Verdict:
    """What the node did before issue 17: an image's first picture in 8 orientations; a video's
    vPDQ (one frame a second, as the device hashes) against listed videos only."""
    if classify(data) == "image":
        return m.check(ItemHashes(pdq=pdq_dihedral(load_image(data))))
    with tempfile.NamedTemporaryFile(suffix=".bin") as tmp:
        tmp.write(data)
        tmp.flush()
        found = [m._judge(x) for x in m._vpdq(vpdq_of_video(tmp.name))]
    return Verdict(max((x.verdict for x in found), key=_RANK.__getitem__, default="allow"), found)


def phone_frame(im, portrait: bool):  # type: ignore[no-untyped-def]
    return aspect(im, 3 / 4 if portrait else 4 / 3)


def _strong(m: Match, policy: Policy) -> bool:
    """A match that acts without a reviewer's say (block/hold as a strong match, not `on_near`)."""
    if m.type == "pdq":
        return m.distance <= policy.block_distance
    return bool(m.agreed) if m.type in ("pdq80", "pdq70") else m.type == "md5"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=0, help="listed photos to use (0: all)")
    ap.add_argument("--edits", default="", help="comma-separated edit names (default: all)")
    ap.add_argument("--phone-frame", action="store_true", help="cut listed photos to 4:3 / 3:4 first")
    ap.add_argument("--window-radius", type=int, default=0, help="80%% (and 70%%) window radius (0: today's)")
    ap.add_argument("--window70-radius", type=int, default=0, help="70%% window radius (0: as the 80%%)")
    ap.add_argument(
        "--review-distance", type=int, default=0, help="whole-image review distance (0: Policy's)"
    )
    ap.add_argument("--skip", type=int, default=0, help="leave out the first N distinct photos (seen ones)")
    args = ap.parse_args()
    chosen, hashes = [], []
    for name, im in photos():
        if args.phone_frame:
            im = phone_frame(im, portrait=len(chosen) % 2 == 1)
        h = hash_image_bytes(_jpeg(im))
        if (h.pdq.quality or 0) < 50:
            continue
        turned = pdq_dihedral(load_image(_jpeg(im)))
        if any(min(t.distance(o.pdq) for t in turned) < 64 for o in hashes):
            continue  # a variant of a picture already taken
        chosen.append((name, im))
        hashes.append(h)
        if args.photos and len(chosen) >= args.skip + args.photos:
            break
    chosen, hashes = chosen[args.skip :], hashes[args.skip :]
    print(f"{len(chosen)} distinct listed photos (of {len(photos())} pictures found)")
    tmp = Path(tempfile.mkdtemp())
    db = Database(f"sqlite:///{tmp / 'node.db'}")
    db.migrate()
    store = NodeStore(db)
    policy = Policy(review_distance=args.review_distance) if args.review_distance else Policy()
    m = Matcher(store, policy)
    if args.window_radius or args.window70_radius:
        m.windows = WindowIndex(args.window_radius or COARSE_RADIUS)
        r70 = args.window70_radius or m.windows.radius
        m.windows.w70 = PdqIndex(threshold=r70, labelled=True, probe_radius=PROBE_RADIUS)
    print(
        f"thresholds: whole-image block {policy.block_distance}, review {policy.review_distance}; "
        f"windows 80% {m.windows.w80.threshold}, 70% {m.windows.w70.threshold}"
    )
    page, owner, seq = [], {}, 0
    for k, h in enumerate(hashes):
        for x in [h.pdq, *h.windows]:
            seq += 1
            page.append(feed_add(seq, seq, x.type, x.value, x.quality))
            owner[seq] = k
    m.apply(store.apply_page(page, seq))
    names = [e for e in EDITS if not args.edits or e in args.edits.split(",")]
    rng = random.Random(17)
    caught: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # before, after, total, strong
    fp = [0, 0]
    cpu = 0.0
    uploads = 0
    for edit in names:
        group, f = EDITS[edit]
        for k, (_, im) in enumerate(chosen):
            made = f(im, rng)
            data = made if isinstance(made, bytes) else _jpeg(made)
            before = before_issue_17(m, data)
            t = time.process_time()
            after = m.check_file(data)
            cpu += time.process_time() - t
            uploads += 1
            for n, v in enumerate((before, after)):
                mine = {e for e in v.registry_entry_ids() if owner.get(e) == k}
                caught[edit][n] += int(v.verdict != "allow" and bool(mine))
                fp[n] += len({owner[e] for e in v.registry_entry_ids() if owner.get(e) != k})
            caught[edit][2] += 1
            strong = any(owner.get(x.entry_id) == k and _strong(x, policy) for x in after.matches)
            caught[edit][3] += int(strong)
        c = caught[edit]
        print(f"| {group} | {edit} | {c[0]}/{c[2]} | {c[1]}/{c[2]} | {c[3]}/{c[2]} |", flush=True)
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for edit in names:
        g = groups[EDITS[edit][0]]
        for i in range(4):
            g[i] += caught[edit][i]
    for g, c in groups.items():
        print(f"| {g} (all) | | {c[0] / c[2]:.0%} | {c[1] / c[2]:.0%} | {c[3] / c[2]:.0%} |")
    pairs = uploads * (len(chosen) - 1)
    print(
        f"false positives over {pairs} unrelated (upload, listed photo) pairs: {fp[0]} before, {fp[1]} after"
    )
    print(f"CPU per upload (check_file, one core): {cpu / max(1, uploads):.3f} s")


if __name__ == "__main__":
    main()
