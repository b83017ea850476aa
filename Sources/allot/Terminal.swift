import Allot
import ArgumentParser
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing to standard error.
enum Terminal {
    static func say(_ text: String) {
        var line = text
        if !line.hasSuffix("\n") { line += "\n" }
        writeStandardError(line)
    }

    /// Writes `text` to file descriptor 2 unbuffered (so it needs no shared `FILE*`).
    static func writeStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }

    static func error(_ text: String) { say("allot: error: " + text) }

    static var stderrIsTerminal: Bool { isatty(2) != 0 }

    /// A callback for the fraction of the current step done, shown by `progress` as "45%".
    static func fraction(_ progress: ProgressLine) -> ((Double) -> Void)? {
        guard progress.enabled else { return nil }
        return { progress.update("\(Int(($0 * 100).rounded(.down)))%") }
    }
}

/// One status line on standard error for a long step, with its elapsed time: redrawn in place
/// on a terminal (a ticker keeps the time current), or elsewhere (only with `--progress`) a
/// line at most every second when what it says changed. Disabled, it does nothing.
final class ProgressLine: Sendable {
    private struct State: Sendable {
        var label = ""
        var detail = ""
        var start = 0.0
        var lastPrinted = -Double.infinity
        var printedDetail = ""
        var phase: String?
        var active = false
        var tickerStarted = false
    }
    private let state = Mutex(State())
    let enabled: Bool
    let terminal: Bool

    init(forced: Bool) {
        terminal = Terminal.stderrIsTerminal
        enabled = terminal || forced
    }

    /// Starts a step.
    func begin(_ label: String) {
        guard enabled else { return }
        end()
        let startTicker = state.withLock { s in
            s.label = label
            s.detail = ""
            s.start = monotonicSeconds()
            s.lastPrinted = -Double.infinity
            s.printedDetail = ""
            s.phase = nil
            s.active = true
            defer { s.tickerStarted = true }
            return terminal && !s.tickerStarted
        }
        if terminal { draw(force: true) } else { Terminal.writeStandardError(label + " ...\n") }
        if startTicker {
            let thread = Thread { [self] in
                while true {
                    usleep(250_000)
                    draw(force: true)
                }
            }
            thread.start()
        }
    }

    /// Updates the step's detail ("sweep 4, bound 1,234.5, gap 0.1%"). The first detail of a
    /// new `phase` of the step (the exact search after the dual's sweeps) is shown at once,
    /// on a log too.
    func update(_ detail: String, phase: String? = nil) {
        guard enabled else { return }
        let newPhase = state.withLock { s in
            s.detail = detail
            defer { if phase != nil { s.phase = phase } }
            return phase != nil && phase != s.phase
        }
        draw(force: newPhase)
    }

    /// Ends the step: clears the line on a terminal; elsewhere prints the last detail if not
    /// printed yet, then "label: done in X s".
    func end() {
        guard enabled else { return }
        state.withLock { s in
            guard s.active else { return }
            s.active = false
            let elapsed = monotonicSeconds() - s.start
            if terminal {
                Terminal.writeStandardError("\r\u{1B}[K")
                return
            }
            // A log shows the step's last state (the final incumbent, say) even if the throttle held it back.
            let last = s.detail.isEmpty || s.detail == s.printedDetail ? "" : "\(s.label): \(s.detail) (\(seconds(elapsed)))\n"
            Terminal.writeStandardError(last + "\(s.label): done in \(seconds(elapsed))\n")
        }
    }

    private func draw(force: Bool) {
        state.withLock { s in
            guard s.active else { return }
            let now = monotonicSeconds()
            // A terminal line is cheap to redraw; a log gets one line a second.
            let interval = force ? 0 : (terminal ? 0.1 : 1.0)
            // A log gets a line only when the detail changed (the same rounded bound again says nothing).
            guard now - s.lastPrinted >= interval, terminal || (!s.detail.isEmpty && s.detail != s.printedDetail) else { return }
            s.lastPrinted = now
            s.printedDetail = s.detail
            let text = "\(s.label)\(s.detail.isEmpty ? "" : ": " + s.detail) (\(seconds(now - s.start)))"
            Terminal.writeStandardError(terminal ? "\r\u{1B}[K" + text : text + "\n")
        }
    }
}

/// `--progress`, shared by the commands with long steps.
struct ProgressFlag: ParsableArguments {
    @Flag(help: "Show progress on standard error even when it is not a terminal (on a terminal it is always shown).")
    var progress = false

    func line() -> ProgressLine { ProgressLine(forced: progress) }
}

/// Formats a number for people: thousands separators, 2 decimals; from 1e15 on, the shortest
/// exact form, e.g. `1e+17`.
func human(_ x: Double) -> String { grouped(x, decimals: 2) }

func significant(_ x: Double, _ digits: Int = 4) -> String { Readable.significant(x, digits) }
func percent(_ fraction: Double) -> String { Readable.percent(fraction) }
func grouped(_ x: Double, decimals: Int) -> String { Readable.grouped(x, decimals: decimals) }
func count(_ n: Int) -> String { Readable.count(n) }
