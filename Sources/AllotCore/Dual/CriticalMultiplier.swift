/// Breakpoints of a nonincreasing step function, and the selection that finds where it crosses
/// a level.
///
/// A relaxed constraint's consumption as a function of its own multiplier, `S(λ)`, is a
/// nonincreasing step function: `S(λ) = base + Σ { w_e : p_e > λ }` over breakpoints `p_e` with
/// drops `w_e >= 0`. The multiplier that minimises the dual along that coordinate is the
/// smallest `λ >= 0` with `S(λ) <= limit`.
package struct Breakpoints {
    package var points: [Double] = []
    package var drops: [Double] = []

    mutating func append(_ p: Double, _ w: Double) {
        points.append(p)
        drops.append(w)
    }

    mutating func append(contentsOf other: Breakpoints) {
        points.append(contentsOf: other.points)
        drops.append(contentsOf: other.drops)
    }

    var count: Int { points.count }

    /// The smallest `λ >= 0` with `Σ { w_e : p_e > λ } <= room`: 0 when every drop fits,
    /// otherwise the breakpoint at which the cumulative drop, taken in descending order of
    /// breakpoint, first exceeds `room`.
    ///
    /// Weighted quickselect (three-way partition around a deterministic median-of-three pivot),
    /// in place: expected O(n), no sort.
    mutating func smallestMultiplier(room: Double) -> Double {
        var lo = 0
        var hi = points.count          // active range [lo, hi)
        var room = room
        // Only positive breakpoints matter (λ >= 0).
        var total = 0.0
        for k in 0..<hi where points[k] > 0 { total += drops[k] }
        if total <= room { return 0 }
        return points.withUnsafeMutableBufferPointer { p in
            drops.withUnsafeMutableBufferPointer { w in
                while hi - lo > 0 {
                    let pivot = Self.medianOfThree(p[lo], p[lo + (hi - lo) / 2], p[hi - 1])
                    // Partition into [greater | equal | less].
                    var gt = lo, i = lo, lt = hi
                    var sumGreater = 0.0, sumEqual = 0.0
                    while i < lt {
                        let x = p[i]
                        if x > pivot {
                            sumGreater += w[i]
                            p.swapAt(gt, i); w.swapAt(gt, i)
                            gt += 1; i += 1
                        } else if x < pivot {
                            lt -= 1
                            p.swapAt(i, lt); w.swapAt(i, lt)
                        } else {
                            sumEqual += w[i]
                            i += 1
                        }
                    }
                    if sumGreater > room {
                        hi = gt
                    } else if sumGreater + sumEqual > room {
                        return max(pivot, 0)
                    } else {
                        room -= sumGreater + sumEqual
                        lo = lt
                    }
                }
                // Everything above the remaining range fitted: only breakpoints <= 0 remain.
                return 0
            }
        }
    }

    @inline(__always)
    private static func medianOfThree(_ a: Double, _ b: Double, _ c: Double) -> Double {
        max(min(a, b), min(max(a, b), c))
    }
}
