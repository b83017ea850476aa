import RealModule

/// A small, fast, seedable pseudo-random generator (SplitMix64).
///
/// The sequence depends only on the seed, on every platform and Swift version, which is what
/// makes seeded methods (`random`, `blanket`) and `allot generate` reproducible.
package struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    package init(seed: UInt64) { state = seed }

    /// - Complexity: O(1).
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    package mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform integer in 0..<bound, by rejection, independent of the standard library's
    /// algorithm (which may change between releases).
    package mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0)
        let b = UInt64(bound)
        let limit = UInt64.max - UInt64.max % b
        while true {
            let x = next()
            if x < limit { return Int(x % b) }
        }
    }

    /// A standard normal variate (Box-Muller).
    package mutating func nextNormal() -> Double {
        let u1 = max(nextUnit(), 0x1.0p-60)
        let u2 = nextUnit()
        return (-2 * Double.log(u1)).squareRoot() * Double.cos(2 * Double.pi * u2)
    }

    /// Fisher-Yates shuffle with this generator; the same seed gives the same order everywhere.
    ///
    /// - Complexity: O(n).
    package mutating func shuffle<T>(_ array: inout [T]) {
        var i = array.count - 1
        while i > 0 {
            let j = nextIndex(below: i + 1)
            array.swapAt(i, j)
            i -= 1
        }
    }
}
