/// The coupons and channels of a whole problem, for a table that holds only some of its users
/// (a Spark partition): numbered as the whole problem numbers them, so that `ConstraintRules`
/// numbers a part's rows as it numbers the whole's, and a cap may name a coupon the part lacks.
package struct Catalogue: Sendable, Equatable {
    package var couponIDs: [String]
    package var channelNames: [String]

    package init(couponIDs: [String], channelNames: [String]) {
        self.couponIDs = couponIDs
        self.channelNames = channelNames
    }
}

extension CandidateTable {
    /// The same candidates with the coupons and channels numbered as `catalogue` numbers them
    /// (its lists become the table's).
    ///
    /// - Throws: `InputError` naming a coupon or channel of the table that the catalogue lacks.
    /// - Complexity: O(n + coupons + channels).
    package func renumbered(to catalogue: Catalogue, source: String) throws -> CandidateTable {
        func index(_ names: [String], in global: [String], _ what: String) throws -> [Int32] {
            let position = Dictionary(global.enumerated().map { ($1, Int32($0)) }, uniquingKeysWith: { a, _ in a })
            return try names.map { name in
                guard let k = position[name] else { throw InputError(file: source, "\(what) '\(name)' is not in the catalogue") }
                return k
            }
        }
        let coupons = try index(couponIDs, in: catalogue.couponIDs, "coupon")
        let channels = try index(channelNames, in: catalogue.channelNames, "channel")
        return CandidateTable(userIDs: userIDs, couponIDs: catalogue.couponIDs,
                              channelNames: channel.isEmpty && catalogue.channelNames.isEmpty ? [] : catalogue.channelNames,
                              userStart: userStart, coupon: coupon.map { coupons[Int($0)] },
                              channel: channel.map { $0 < 0 ? $0 : channels[Int($0)] }, uplift: uplift,
                              columnNames: columnNames, columns: columns)
    }

    /// A table of no candidates with `catalogue`'s coupons and channels and these consumption
    /// columns (`cost` first): what a coordinator resolves a spec against when the candidates
    /// live elsewhere.
    package static func empty(_ catalogue: Catalogue, columnNames: [String], hasChannel: Bool) -> CandidateTable {
        CandidateTable(userIDs: [], couponIDs: catalogue.couponIDs, channelNames: hasChannel ? catalogue.channelNames : [],
                       userStart: [0], coupon: [], channel: [], uplift: [], columnNames: columnNames,
                       columns: columnNames.map { _ in [] })
    }
}
