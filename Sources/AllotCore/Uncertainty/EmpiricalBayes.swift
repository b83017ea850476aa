#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A nonparametric empirical-Bayes prior: the Kiefer-Wolfowitz maximum-likelihood prior on an
/// evenly spaced grid of atoms, fitted by EM to scores `y_i = θ_i + e_i`, `e_i ~ Normal(0, se_i²)`
/// (Jiang and Zhang 2009; Koenker and Mizera 2014). No shape is assumed for the prior of `θ`:
/// skewed, heavy-tailed or multimodal priors (a log-normal, a share of negative uplifts) are
/// fitted as they are, which a linear (normal-normal) shrinkage cannot do.
///
/// Deterministic: the atoms, the EM iterations and the sums depend only on the data, in order.
struct GridPrior: Sendable {
    /// The first atom and the spacing: atom `k` is `low + k · step`.
    let low: Double
    let step: Double
    /// The prior's mass on each atom (sums to 1).
    let weight: [Double]

    /// EM iterations of the fit; the posterior means settle long before the prior's mass does.
    static let iterations = 60
    /// Atoms when the standard errors are wide against the range (the usual case).
    static let baseAtoms = 60
    /// At most this many atoms: the grid gets finer (down to half the 10th percentile of the
    /// standard errors) when the errors are small, up to this cap.
    static let maxAtoms = 1000
    /// Likelihoods beyond this many standard errors are dropped (below e^-50 of the nearest).
    static let band = 10.0

    /// Fits the prior to `(y, se)` pairs (`se > 0`), the atoms spanning `range`.
    ///
    /// - Complexity: O(m · a · iterations) for m pairs and a atoms within `band` standard errors
    ///   of a score (at most `maxAtoms`).
    init(y: [Double], se: [Double], range: ClosedRange<Double>) {
        let width = range.upperBound - range.lowerBound
        var sortedSE = se
        sortedSE.sort()
        let fine = sortedSE.isEmpty ? width : 0.5 * sortedSE[sortedSE.count / 10]
        var step = width / Double(Self.baseAtoms - 1)
        if fine < step { step = max(fine, width / Double(Self.maxAtoms - 1)) }
        low = range.lowerBound
        guard width > 0, !y.isEmpty else {
            self.step = 1
            weight = [1]
            return
        }
        self.step = step
        let atoms = Int((width / step).rounded(.up)) + 1
        // Each pair's likelihood on the atoms of its band, relative to its nearest atom.
        var first = [Int](repeating: 0, count: y.count)
        var offsets = [Int](repeating: 0, count: y.count + 1)
        var values: [Double] = []
        for i in y.indices {
            let (a, b) = Self.bandAtoms(y[i], se[i], low: low, step: step, atoms: atoms)
            first[i] = a
            let nearest = Self.nearestDistance(y[i], low: low, step: step, atoms: atoms)
            for k in a...b {
                let d = y[i] - (low + Double(k) * step)
                values.append(exp(-0.5 * (d * d - nearest * nearest) / (se[i] * se[i])))
            }
            offsets[i + 1] = values.count
        }
        var g = [Double](repeating: 1 / Double(atoms), count: atoms)
        var next = g
        for _ in 0..<Self.iterations {
            for k in 0..<atoms { next[k] = 0 }
            for i in y.indices {
                let a = first[i]
                var f = 0.0
                for t in offsets[i]..<offsets[i + 1] { f += values[t] * g[a + t - offsets[i]] }
                guard f > 0 else { continue }
                for t in offsets[i]..<offsets[i + 1] { next[a + t - offsets[i]] += values[t] / f }
            }
            let m = Double(y.count)
            for k in 0..<atoms { g[k] *= next[k] / m }
        }
        let total = g.reduce(0, +)
        weight = total > 0 ? g.map { $0 / total } : [Double](repeating: 1 / Double(atoms), count: atoms)
    }

    /// The prior's mean.
    var mean: Double {
        var m = 0.0
        for k in weight.indices { m += weight[k] * (low + Double(k) * step) }
        return m
    }

    /// The posterior mean and variance of `θ` given a score `y` with standard error `se > 0`.
    ///
    /// The Gaussian weights of consecutive atoms are computed by two running products (three
    /// exponentials per score, not one per atom). - Complexity: O(atoms within `band` se of y).
    func posterior(_ y: Double, _ se: Double) -> (mean: Double, variance: Double) {
        let atoms = weight.count
        let (a, b) = Self.bandAtoms(y, se, low: low, step: step, atoms: atoms)
        let k0 = min(max(Int(((y - low) / step).rounded()), a), b)
        let s2 = se * se
        let d0 = y - (low + Double(k0) * step)
        let q = exp(-step * step / s2)
        var w0 = 0.0, w1 = 0.0, w2 = 0.0
        func add(_ k: Int, _ t: Double) {
            let p = weight[k] * t
            let x = Double(k - k0) * step   // atoms relative to k0: better-conditioned moments
            w0 += p
            w1 += p * x
            w2 += p * x * x
        }
        add(k0, 1)
        // Upwards: t(k+1)/t(k) = exp((2 d_k step - step²) / 2 se²), the ratio shrinking by q.
        var t = 1.0, r = exp((2 * d0 * step - step * step) / (2 * s2))
        var k = k0 + 1
        while k <= b { t *= r; r *= q; add(k, t); k += 1 }
        t = 1.0; r = exp((-2 * d0 * step - step * step) / (2 * s2))
        k = k0 - 1
        while k >= a { t *= r; r *= q; add(k, t); k -= 1 }
        let centre = low + Double(k0) * step
        guard w0 > 0, w0.isFinite else { return (centre, 0) }
        let m = w1 / w0
        return (centre + m, max(0, w2 / w0 - m * m))
    }

    /// The atoms within `band` standard errors of `y` (at least the nearest one).
    static func bandAtoms(_ y: Double, _ se: Double, low: Double, step: Double, atoms: Int) -> (Int, Int) {
        let reach = band * se / step
        let lo = Int(max(0, ((y - low) / step - reach).rounded(.up)))
        let hi = Int(min(Double(atoms - 1), ((y - low) / step + reach).rounded(.down)))
        if lo <= hi { return (min(lo, atoms - 1), max(hi, 0)) }
        let nearest = min(max(Int(((y - low) / step).rounded()), 0), atoms - 1)
        return (nearest, nearest)
    }

    static func nearestDistance(_ y: Double, low: Double, step: Double, atoms: Int) -> Double {
        let nearest = min(max(Int(((y - low) / step).rounded()), 0), atoms - 1)
        return abs(y - (low + Double(nearest) * step))
    }
}
