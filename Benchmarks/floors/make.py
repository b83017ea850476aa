"""Issue 23's floor instances: `allot generate` scores with three extra columns and specs.

    python3 Benchmarks/floors/make.py SCORES.csv SPEC.json OUTDIR

Columns, from a CRC-32 of the user id (so the same users whatever the order): is_new (a third of
the users), region_a (a quarter), a_minus_half_b (+1 for group a, -0.5 for group b, 0 for the
rest: a parity row "a at least half of b, at most 5% of the users more"). Specs written to OUTDIR:
plain.json (the generated spec), floors.json (a spend floor at 95% of the budget, coverage floors
new_users >= 24% and region_a >= 17.5% of the users, a coupon floor c2 >= 15% of the users, the
parity row 0 <= sum <= 5% of the users), and out-of-reach variants: ray_new.json (new_users above
the number of new users), ray_coupon.json (c2's floor above its users), conflict.json (new_users
at 99% of the new users and region_a at 99% of its users under a budget that cannot pay for both).
"""
import csv, json, sys, zlib

scores, spec_path, out = sys.argv[1:]
spec = json.load(open(spec_path))
users = set()
new = region = 0
c2_users = set()
with open(scores) as f, open(f"{out}/scores.csv", "w") as g:
    r = csv.reader(f)
    header = next(r)
    g.write(",".join(header + ["is_new", "region_a", "a_minus_half_b"]) + "\n")
    for row in r:
        h = zlib.crc32(row[0].encode())
        is_new = 1 if h % 3 == 0 else 0
        region_a = 1 if (h >> 4) % 4 == 0 else 0
        group = (h >> 8) % 3
        tilt = "1" if group == 0 else ("-0.5" if group == 1 else "0")
        if row[0] not in users:
            users.add(row[0])
            new += is_new
            region += region_a
        if row[1] == "c2":
            c2_users.add(row[0])
        g.write(",".join(row + [str(is_new), str(region_a), tilt]) + "\n")
n = len(users)
json.dump(spec, open(f"{out}/plain.json", "w"))
budget = spec["budgets"][0]
floors = dict(spec)
floors["budgets"] = [dict(budget, min=round(0.95 * budget["limit"], 2))]
floors["coupon_floors"] = {"c2": int(0.15 * n)}
floors["constraints"] = [{"name": "new_users", "column": "is_new", "min": int(0.24 * n)},
                         {"name": "region_a", "column": "region_a", "min": int(0.175 * n)},
                         {"name": "parity", "column": "a_minus_half_b", "min": 0, "max": int(0.05 * n)}]
json.dump(floors, open(f"{out}/floors.json", "w"))
ray_new = json.loads(json.dumps(floors))
ray_new["constraints"][0]["min"] = new + 1
json.dump(ray_new, open(f"{out}/ray_new.json", "w"))
ray_coupon = json.loads(json.dumps(floors))
ray_coupon["coupon_floors"] = {"c2": len(c2_users) + 1}
json.dump(ray_coupon, open(f"{out}/ray_coupon.json", "w"))
conflict = json.loads(json.dumps(floors))
conflict["budgets"] = [dict(budget, limit=round(0.2 * budget["limit"], 2))]
conflict["constraints"][0]["min"] = int(0.99 * new)
conflict["constraints"][1]["min"] = int(0.99 * region)
json.dump(conflict, open(f"{out}/conflict.json", "w"))
print(f"{n} users, {new} new, {region} in region a, {len(c2_users)} with c2")
