/// Scores with standard errors, and their empirical-Bayes shrinkage (docs/algorithms.md,
/// "Decisions under noisy scores").
///
/// The model: `uplift_j = θ_j + e_j`, `e_j ~ Normal(0, se_j²)` independent of each other and of
/// `θ`. The prior of `θ` is estimated per **segment**, nonparametrically (`GridPrior`, the
/// Kiefer-Wolfowitz maximum-likelihood prior on a grid), and each score is replaced by its
/// posterior mean and variance under its segment's prior. A segment is a coupon (coupons
/// with fewer than `minGroup` candidates share one) cut into up to `maxBins` bins by the
/// user's **other** scores: the mean of the user's other candidates' standardised scores
/// (`(uplift - coupon mean) / coupon sd`; 0 for a user with one candidate). The bins carry
/// what the user's other scores say about `θ_j` (users differ in responsiveness): without
/// them the posterior of a candidate the optimiser picked because it beat the user's other
/// scores is too high. Their noise is independent of `e_j`, so the model holds within a bin.
/// A score with `se = 0` is kept as it is (posterior variance 0).
///
/// Deterministic whatever the thread count: segments, subsamples and sums depend only on the
/// data in candidate order, and each posterior only on its own score and segment.
public struct UncertainScores: Sendable {
    /// The scores as read.
    public let uplift: [Double]
    /// Their standard errors (>= 0).
    public let se: [Double]
    /// Posterior means (shrunken scores) and posterior variances, one per candidate; empty when
    /// made with `posteriors: false` (then `posterior(of:)` computes them one at a time).
    public let shrunk: [Double]
    public let posteriorVariance: [Double]
    /// Each segment's prior (nil: no score of the segment has a standard error).
    let priors: [GridPrior?]
    /// Each candidate's segment, and the number of segments.
    public let segment: [Int32]
    public let segmentCount: Int

    /// Coupons with fewer candidates share one group.
    public static let minGroup = 2_000
    /// At most this many bins per group, each of at least `binSize` candidates.
    public static let maxBins = 20
    public static let binSize = 1_000
    /// Each segment's prior is fitted on at most this many of its scores (every k-th).
    public static let fitSample = 1_500

    /// - Parameters:
    ///   - uplift: each candidate's predicted uplift.
    ///   - se: each candidate's standard error (finite, >= 0).
    ///   - group: each candidate's coupon (`0..<groupCount`).
    ///   - groupCount: the number of coupons.
    ///   - threads: worker threads for the posteriors; the result does not depend on it.
    ///   - userStart: user `u`'s candidates are `userStart[u] ..< userStart[u + 1]`.
    ///   - posteriors: compute every candidate's posterior now (`shrunk`, `posteriorVariance`);
    ///     false when only a few are needed (`--risk` alone: the allocation's, for its expected
    ///     objective).
    /// - Complexity: O(n log n) to cut the bins, O(segments · fitSample · a · 60) for the
    ///   priors and O(n · a) for the posteriors, a the atoms within 6 standard errors of a
    ///   score (the posteriors over `threads` workers).
    public init(uplift: [Double], se: [Double], group: [Int32], groupCount: Int, userStart: [Int], threads: Int = 1,
                posteriors: Bool = true) {
        precondition(uplift.count == se.count && uplift.count == group.count)
        self.uplift = uplift
        self.se = se
        let n = uplift.count
        let segment = Self.segments(uplift: uplift, group: group, groupCount: groupCount, userStart: userStart, threads: threads)
        self.segment = segment.ids
        segmentCount = segment.count
        // Each segment's members, in candidate order.
        var membersOf = [[Int]](repeating: [], count: segment.count)
        for j in 0..<n { membersOf[Int(segment.ids[j])].append(j) }
        let members = membersOf
        let priors: [GridPrior?] = parallelMap(segment.count, threads: threads) { s in
            let all = members[s]
            let noisy = all.filter { se[$0] > 0 }
            guard !noisy.isEmpty else { return nil }
            var low = uplift[all[0]], high = low
            for j in all { low = min(low, uplift[j]); high = max(high, uplift[j]) }
            let every = (noisy.count + Self.fitSample - 1) / Self.fitSample
            let fit = stride(from: 0, to: noisy.count, by: every).map { noisy[$0] }
            return GridPrior(y: fit.map { uplift[$0] }, se: fit.map { se[$0] }, range: low...high)
        }
        self.priors = priors
        guard posteriors else {
            shrunk = []
            posteriorVariance = []
            return
        }
        let chunk = 1 << 16
        let parts = parallelMap((n + chunk - 1) / chunk, threads: threads) { c -> ([Double], [Double]) in
            let range = c * chunk ..< min(n, (c + 1) * chunk)
            var mean = [Double](repeating: 0, count: range.count), variance = mean
            for j in range {
                guard se[j] > 0, let prior = priors[Int(segment.ids[j])] else {
                    mean[j - range.lowerBound] = uplift[j]
                    continue
                }
                (mean[j - range.lowerBound], variance[j - range.lowerBound]) = prior.posterior(uplift[j], se[j])
            }
            return (mean, variance)
        }
        var shrunk: [Double] = [], posterior: [Double] = []
        shrunk.reserveCapacity(n)
        posterior.reserveCapacity(n)
        for part in parts {
            shrunk.append(contentsOf: part.0)
            posterior.append(contentsOf: part.1)
        }
        self.shrunk = shrunk
        self.posteriorVariance = posterior
    }

    /// Each candidate's segment (see the type's documentation). The bins' cuts are exact order
    /// statistics, found by selection rather than a sort; the groups are cut on `threads`
    /// workers. - Complexity: O(n log bins).
    static func segments(uplift: [Double], group: [Int32], groupCount: Int, userStart: [Int],
                         threads: Int = 1) -> (ids: [Int32], count: Int) {
        let n = uplift.count
        var count = [Double](repeating: 0, count: groupCount)
        var sum = count, sumSquares = count
        for j in 0..<n {
            let g = Int(group[j])
            count[g] += 1
            sum[g] += uplift[j]
            sumSquares[g] += uplift[j] * uplift[j]
        }
        var z = [Double](repeating: 0, count: n)
        for j in 0..<n {
            let g = Int(group[j])
            let mean = sum[g] / count[g]
            let sd = (max(0, sumSquares[g] / count[g] - mean * mean)).squareRoot()
            z[j] = sd > 0 ? (uplift[j] - mean) / sd : 0
        }
        // The mean of the user's other standardised scores.
        var others = [Double](repeating: 0, count: n)
        for u in 0..<(userStart.count - 1) {
            let range = userStart[u] ..< userStart[u + 1]
            guard range.count > 1 else { continue }
            var total = 0.0
            for j in range { total += z[j] }
            for j in range { others[j] = (total - z[j]) / Double(range.count - 1) }
        }
        // Groups: the coupons with at least minGroup candidates, then one for the others.
        var groupOf = [Int](repeating: 0, count: groupCount)
        var groups = 0
        for g in 0..<groupCount where count[g] >= Double(minGroup) { groupOf[g] = groups; groups += 1 }
        let pooled = groups
        var anyPooled = false
        for g in 0..<groupCount where count[g] < Double(minGroup) { groupOf[g] = pooled; anyPooled = true }
        if anyPooled { groups += 1 }
        var groupMembers = [[Int]](repeating: [], count: groups)
        for j in 0..<n { groupMembers[groupOf[Int(group[j])]].append(j) }
        let members = groupMembers.filter { !$0.isEmpty }
        let values = others
        // Per group: its bins, and each member's bin.
        let cut: [(bins: Int, bin: [Int32])] = parallelMap(members.count, threads: threads) { g in
            let members = members[g]
            let bins = max(1, min(maxBins, members.count / binSize))
            var scratch = members.map { values[$0] }
            let cuts = orderStatistics(&scratch, ranks: (1..<bins).map { members.count * $0 / bins })
            return (bins, members.map { j in
                // The number of cuts at or below the value: its bin.
                var lo = 0, hi = cuts.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if cuts[mid] <= values[j] { lo = mid + 1 } else { hi = mid }
                }
                return Int32(lo)
            })
        }
        var ids = [Int32](repeating: 0, count: n)
        var next = 0
        for (g, group) in members.enumerated() {
            for (k, j) in group.enumerated() { ids[j] = Int32(next) + cut[g].bin[k] }
            next += cut[g].bins
        }
        return (ids, next)
    }

    /// The values at `ranks` (ascending, each in `0..<values.count`) of `values` sorted, as
    /// `values.sorted()[rank]`, by multi-quickselect: `values` is reordered. Deterministic
    /// (median-of-three pivots). - Complexity: O(n log ranks) expected.
    static func orderStatistics(_ values: inout [Double], ranks: [Int]) -> [Double] {
        var result = [Double](repeating: 0, count: ranks.count)
        values.withUnsafeMutableBufferPointer { v in
            // Work items: a range of `v` and the ranks (indices into `ranks`) that fall in it.
            var work: [(lo: Int, hi: Int, first: Int, last: Int)] = ranks.isEmpty ? [] : [(0, v.count, 0, ranks.count)]
            while let (lo, hi, first, last) = work.popLast() {
                if hi - lo <= 16 {
                    var small = Array(v[lo..<hi])
                    small.sort()
                    for r in first..<last { result[r] = small[ranks[r] - lo] }
                    continue
                }
                let a = v[lo], b = v[(lo + hi) / 2], c = v[hi - 1]
                let pivot = max(min(a, b), min(max(a, b), c))
                // Three-way partition: [lo, lt) < pivot, [lt, gt) == pivot, [gt, hi) > pivot.
                var lt = lo, i = lo, gt = hi
                while i < gt {
                    if v[i] < pivot { v.swapAt(lt, i); lt += 1; i += 1 }
                    else if v[i] > pivot { gt -= 1; v.swapAt(i, gt) }
                    else { i += 1 }
                }
                var r = first
                var below = r
                while below < last && ranks[below] < lt { below += 1 }
                if below > r { work.append((lo, lt, r, below)) }
                r = below
                while r < last && ranks[r] < gt { result[r] = pivot; r += 1 }
                if r < last { work.append((gt, hi, r, last)) }
            }
        }
        return result
    }

    /// Candidate `j`'s posterior mean and variance (its score and 0 without a standard error).
    /// - Complexity: O(1) when computed at `init`, else O(atoms within 6 se).
    public func posterior(of j: Int) -> (mean: Double, variance: Double) {
        if !shrunk.isEmpty { return (shrunk[j], posteriorVariance[j]) }
        guard se[j] > 0, let prior = priors[Int(segment[j])] else { return (uplift[j], 0) }
        return prior.posterior(uplift[j], se[j])
    }

    /// The uplift the solver optimises under `options`. `risk = 0` without `shrink` returns
    /// `uplift` itself. - Complexity: O(n), times O(atoms within 6 se) for `shrink` when the
    /// posteriors were not computed at `init`.
    public func solverUplift(_ options: UncertaintyOptions) -> [Double] {
        solverUplift(shrink: options.shrink, kappa: options.kappa)
    }

    /// The posterior means (with `shrink`) or the scores, less `kappa` posterior standard
    /// deviations or standard errors. - Complexity: as `solverUplift(_:)`.
    public func solverUplift(shrink: Bool, kappa: Double) -> [Double] {
        if shrink {
            if kappa == 0 && !shrunk.isEmpty { return shrunk }
            return uplift.indices.map { j in
                let p = posterior(of: j)
                return p.mean - kappa * p.variance.squareRoot()
            }
        }
        if kappa == 0 { return uplift }
        return uplift.indices.map { uplift[$0] - kappa * se[$0] }
    }

    /// The expected value of an allocation (candidate indices): see `ExpectedObjective`.
    /// - Complexity: O(allocation size).
    public func expectedObjective(of candidates: [Int], riskKappa: Double?) -> ExpectedObjective {
        var value = 0.0, variance = 0.0
        for j in candidates {
            let p = posterior(of: j)
            value += p.mean
            variance += p.variance
        }
        let half = 1.959963984540054 * variance.squareRoot()
        return ExpectedObjective(value: value, ci95Low: value - half, ci95High: value + half,
                                 basis: "shrunken scores", riskKappa: riskKappa)
    }
}

