import AllotCore

/// One method at one level of a floor: what the floor costs in incremental GMV.
public struct FloorPoint: Codable, Equatable, Sendable {
    public var method: String
    /// The floor's level (its `min`).
    public var floor: Double
    /// The solve's status: `optimal`, `feasible`, ..., or `infeasible` / `search_failed` (then
    /// no objective).
    public var status: String
    public var objective: Double?
    public var upperBound: Double?
    /// Incremental GMV given up per unit of floor from the previous level to this one, for the
    /// same method: `(objective at the previous level - objective here) / (level - previous)`.
    public var costPerUnit: Double?

    enum CodingKeys: String, CodingKey {
        case method, floor, status, objective
        case upperBound = "upper_bound"
        case costPerUnit = "cost_per_unit"
    }
}

/// `allot frontier --floor-range NAME:LO:HI:STEPS`: the objective of each method as one floor
/// rises, and what each unit of it costs: the trade-off of coverage against incremental GMV.
public enum FloorSweep {
    /// Solves every method at every level of the floor `name` (`Problem.withFloor`), verifying
    /// each allocation. A level no allocation meets is a point with status `infeasible` (or
    /// `search_failed` when only the method's search failed), not an error.
    ///
    /// - Throws: `InputError` for an unknown floor name; `SolveError` when a method fails or an
    ///   allocation fails verification.
    /// - Complexity: methods x levels solves.
    public static func compute(_ problem: Problem, floor name: String, levels: [Double], methods: [any AllocationMethod],
                               options: SolveOptions = SolveOptions(),
                               onPoint: ((FloorPoint, Int, Int) -> Void)? = nil) throws -> [FloorPoint] {
        var points: [FloorPoint] = []
        let total = methods.count * levels.count
        for method in methods {
            var previous: (level: Double, objective: Double)?
            for level in levels {
                let instance = try problem.withFloor(level, named: name)
                let solution = try solve(instance, method: method, options: options)
                var point = FloorPoint(method: method.name, floor: level, status: solution.status.rawValue)
                if solution.status != .infeasible && solution.status != .searchFailed {
                    let report = Verifier.verify(instance, solution.allocation)
                    guard report.isFeasible else {
                        throw SolveError("\(method.name) at \(name) = \(level) failed verification: \(report.violations.first!)")
                    }
                    point.objective = report.objective
                    point.upperBound = solution.upperBound
                    if let previous, level > previous.level {
                        point.costPerUnit = (previous.objective - report.objective) / (level - previous.level)
                    }
                    previous = (level, report.objective)
                } else {
                    previous = nil
                }
                points.append(point)
                onPoint?(point, points.count, total)
            }
        }
        return points
    }

    /// `method,floor,status,objective,upper_bound,cost_per_unit`, one row per point.
    public static func csv(_ points: [FloorPoint]) -> String {
        var lines = ["method,floor,status,objective,upper_bound,cost_per_unit"]
        for p in points {
            let fields = [p.method, "\(p.floor)", p.status, p.objective.map { "\($0)" } ?? "",
                          p.upperBound.map { "\($0)" } ?? "", p.costPerUnit.map { "\($0)" } ?? ""]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
