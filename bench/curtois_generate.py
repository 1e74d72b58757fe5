"""Write a synthetic instance in the Curtois-Qu format, as large as the format's largest published
instances (up to 150 employees, 364 days, 32 shift types), to check that importing and modelling
scale: `python bench/curtois_generate.py --employees 150 --days 364 --shifts 32 --out big.txt`.
Seeded, so the same arguments give the same file."""

from __future__ import annotations

import argparse
import random


def generate(employees: int, days: int, shifts: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    ids = [f"S{k}" for k in range(shifts)]
    lengths = {s: rng.choice([480, 480, 600, 720]) for s in ids}
    lines = ["# synthetic instance (bench/curtois_generate.py)", "SECTION_HORIZON", str(days), "",
             "SECTION_SHIFTS"]
    for k, s in enumerate(ids):
        banned = [t for t in ids[:k] if rng.random() < 0.3]  # later shifts may not precede earlier ones
        lines.append(f"{s},{lengths[s]},{'|'.join(banned)}")
    lines += ["", "SECTION_STAFF"]
    staff = [f"E{k}" for k in range(employees)]
    weeks = days / 7
    for e in staff:
        caps = "|".join(f"{s}={rng.choice([0, days, days, days, max(1, days // 7)])}" for s in ids)
        hours = rng.choice([36, 38, 40])
        lines.append(f"{e},{caps},{int(hours * 60 * weeks * 1.05)},{int(hours * 60 * weeks * 0.85)},"
                     f"{rng.choice([5, 6])},{rng.choice([1, 2])},{rng.choice([1, 2])},{max(1, int(weeks * 0.6))}")
    lines += ["", "SECTION_DAYS_OFF"]
    for e in staff:
        lines.append(",".join([e] + [str(d) for d in sorted(rng.sample(range(days), min(days, 3)))]))
    for section in ("SECTION_SHIFT_ON_REQUESTS", "SECTION_SHIFT_OFF_REQUESTS"):
        lines += ["", section]
        for e in staff:
            for _ in range(max(1, days // 14)):
                lines.append(f"{e},{rng.randrange(days)},{rng.choice(ids)},{rng.randint(1, 3)}")
    lines += ["", "SECTION_COVER"]
    per_shift = employees * 5 / 7 / shifts
    for d in range(days):
        for s in ids:
            lines.append(f"{d},{s},{max(0, round(rng.gauss(per_shift, 1)))},100,1")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=150)
    parser.add_argument("--days", type=int, default=364)
    parser.add_argument("--shifts", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.out, "w") as fh:
        fh.write(generate(args.employees, args.days, args.shifts, args.seed))


if __name__ == "__main__":
    main()
