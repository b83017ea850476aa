import Allot
import AllotTestSupport
import PropertyBased
import Testing

/// Finding 13: properties on random small instances (x-sheep/swift-property-based): every
/// method's allocation passes the verifier, and the dual's bound is at least every method's value.
@Suite struct PropertyTests {
    @Test func everyMethodIsVerifiedAndBelowTheDualBound() async {
        // users, coupons per user, budgets, max per user, coupon cap (0: none), ROI floor, seed
        await propertyCheck(count: 60, input: Gen.int(in: 1...8), Gen.int(in: 1...4), Gen.int(in: 1...3), Gen.int(in: 1...2),
                            Gen.int(in: 0...3), Gen.bool, Gen.uint64(in: 1...1_000_000)) { users, perUser, budgets, maxPerUser, cap, roi, seed in
            let mix = RandomProblem(users: users, coupons: 4, couponsPerUser: perUser, budgets: budgets, maxPerUser: maxPerUser, couponCap: cap == 0 ? nil : cap, channels: ["push", "email"], channelCap: 1, minROI: roi ? 1.5 : nil)
            let problem = mix.make(seed: seed)
            var options = SolveOptions(seed: seed)
            options.threads = 2
            guard let dual = try? solve(problem, method: .dual, options: options), let bound = dual.upperBound else {
                Issue.record("the dual gave no bound")
                return
            }
            for method in MethodRegistry.standard.methods {
                let solution: Solution
                do {
                    solution = try solve(problem, method: method, options: options)
                } catch {
                    Issue.record("\(method.name) threw \(error)")
                    continue
                }
                let report = Verifier.verify(problem, solution.allocation)
                #expect(report.isFeasible, "\(method.name): \(report.violations)")
                #expect(report.objective <= bound + 1e-7 * max(1, abs(bound)), "\(method.name): \(report.objective) above the dual bound \(bound)")
            }
        }
    }
}
