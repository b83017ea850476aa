extension SyntheticScores {
    /// The scores with estimation noise, as `allot generate --noise σ` writes them:
    /// `user_id,coupon_id,uplift,cost[,channel],uplift_se,true_uplift`.
    ///
    /// `true_uplift` is the noiseless generator's uplift (the same values `csv()` writes).
    /// Each candidate gets a standard error `se = σ · sd · r`, where `sd` is the standard
    /// deviation of `true_uplift` over all candidates and `r ~ Uniform(0.5, 1.5)` (the noise is
    /// heteroscedastic, as a model's errors are; the root mean square of `r` is 1.04), and a
    /// noisy `uplift = true_uplift + se · z`, `z ~ Normal(0, 1)`. The noise comes from its own
    /// generator (seeded from `seed`), so the costs, the spec and the log are those of the
    /// noiseless scores. Values are rounded to 4 decimals; `σ = 0` writes `uplift = true_uplift`
    /// and `uplift_se = 0`.
    ///
    /// With `draws = B > 0`, each candidate also gets `B` independent draws
    /// `uplift_b = true_uplift + se · √B · z_b` (columns `uplift_1 ... uplift_B` after
    /// `true_uplift`), and `uplift` is their mean, so its standard error is still `se`: the draws
    /// are the replicate estimates `ScoreDraws` assumes, at the same noise as without them.
    ///
    /// - Complexity: O(users x coupons x (1 + draws)), two passes over the generator.
    public func noisyCSV(noise sigma: Double, draws: Int = 0) -> [UInt8] {
        var sum = 0.0, sumSquares = 0.0, n = 0.0
        forEachCandidate { _, _, uplift, _ in
            sum += uplift
            sumSquares += uplift * uplift
            n += 1
        }
        let mean = sum / max(n, 1)
        let sd = (max(0, sumSquares / max(n, 1) - mean * mean)).squareRoot()
        var rng = SeededGenerator(seed: seed ^ 0x9E37_79B9_7F4A_7C15)
        let spread = Double(max(draws, 1)).squareRoot()
        return csv(draws: draws) { trueUplift in
            let se = Self.round4(sigma * sd * (0.5 + rng.nextUnit()))
            guard draws > 0 else {
                let z = rng.nextNormal()
                return (Self.round4(trueUplift + se * z), se, [])
            }
            let values = (0..<draws).map { _ in Self.round4(trueUplift + se * spread * rng.nextNormal()) }
            return (Self.round4(values.reduce(0, +) / Double(draws)), se, values)
        }
    }
}
