import RealModule

/// What `allot generate` writes beside the scores: a spec that fits them, and a randomised log
/// to evaluate allocations on (docs/generator.md).
extension SyntheticScores {
    /// A spec with one budget on `cost` at 30% of the spend of giving every user its best
    /// coupon (2 significant digits), one incentive per user, and the largest coupon capped at
    /// 5% of the users.
    public func spec() -> String {
        let spend = table().spendOfBestCandidates() * 0.3
        var scale = 1.0
        while spend / scale >= 100 { scale *= 10 }
        let limit = max(1, (spend / scale).rounded() * scale)
        let cap = max(1, users / 20)
        return """
            {"budgets": [{"name": "cash", "column": "cost", "limit": \(Int(limit))}],
             "max_per_user": 1,
             "coupon_caps": {"\(Self.couponID(coupons - 1))": \(cap)}}

            """
    }

    /// A randomised test on these users: each is given one of its coupons or `control`, each
    /// with probability 1 / (coupons + 1), and the outcome is a baseline spend
    /// `20 x LogNormal(0, 1)` plus the scored uplift of the coupon given, plus `Normal(0, 10)`
    /// noise. The log's header is `user_id,treatment,outcome`.
    /// - Complexity: O(users x coupons).
    public func randomisedLog() -> [UInt8] {
        var rng = SeededGenerator(seed: seed &+ 0x9E37_79B9_7F4A_7C15)
        var uplifts = [Double](repeating: 0, count: coupons)
        var out = Array("user_id,treatment,outcome\n".utf8)
        out.reserveCapacity(users * 24 + 32)
        forEachCandidate { u, c, uplift, _ in
            uplifts[c] = uplift
            guard c == coupons - 1 else { return }
            let arm = min(coupons, Int(rng.nextUnit() * Double(coupons + 1)))
            let baseline = 20 * Double.exp(rng.nextNormal())
            let outcome = baseline + (arm < coupons ? uplifts[arm] : 0) + 10 * rng.nextNormal()
            out.append(contentsOf: Self.userID(u).utf8)
            out.append(0x2C)
            out.append(contentsOf: (arm < coupons ? Self.couponID(arm) : "control").utf8)
            out.append(0x2C)
            appendFixed4(outcome, to: &out)
            out.append(0x0A)
        }
        return out
    }
}
