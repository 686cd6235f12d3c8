import EOData
import Foundation

/// Labels given as a CSV of tile boxes in the imagery's map units (y-up):
///
///     min_x,min_y,max_x,max_y,label
///     500000,4649776,500960,4650736,forest
///
/// Columns may come in any order; extra columns are ignored; `#` lines and blank lines are skipped.
/// Each box is read from the first raster of the dataset that contains it. Classes are the distinct
/// labels in ascending order.
public enum LabelCSV {
    static let columns = ["min_x", "min_y", "max_x", "max_y", "label"]

    public static func label(contentsOf url: URL, dataset: RasterDataset) throws -> LabelledTiles {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw EvaluationError.labels("cannot read \(url.path) as UTF-8 text")
        }
        return try label(text: text, source: url.path, dataset: dataset)
    }

    public static func label(text: String, source: String, dataset: RasterDataset) throws -> LabelledTiles {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .map { (number: $0.offset + 1, text: $0.element.trimmingCharacters(in: .whitespaces)) }
            .filter { !$0.text.isEmpty && !$0.text.hasPrefix("#") }
        guard !lines.isEmpty else { throw EvaluationError.labels("\(source) is empty") }
        let header = fields(lines.removeFirst().text).map { $0.lowercased() }
        let position = try columns.map { name in
            guard let index = header.firstIndex(of: name) else {
                throw EvaluationError.labels("\(source): the header needs the columns "
                                             + "\(columns.joined(separator: ",")); "
                                             + "found \(header.joined(separator: ","))")
            }
            return index
        }
        var rows: [(raster: Int, window: PixelWindow, label: String)] = []
        var skipped: [String: Int] = [:]
        for line in lines {
            let values = fields(line.text)
            guard values.count >= header.count else {
                throw EvaluationError.labels("\(source):\(line.number): \(values.count) fields, "
                                             + "the header has \(header.count)")
            }
            let numbers = position.prefix(4).map { Double(values[$0]) }
            guard numbers.allSatisfy({ $0 != nil && $0!.isFinite }) else {
                throw EvaluationError.labels("\(source):\(line.number): min_x, min_y, max_x, max_y must be numbers")
            }
            let (minX, minY, maxX, maxY) = (numbers[0]!, numbers[1]!, numbers[2]!, numbers[3]!)
            guard minX < maxX, minY < maxY else {
                throw EvaluationError.labels("\(source):\(line.number): empty box (need min_x < max_x, min_y < max_y)")
            }
            let label = values[position[4]]
            guard !label.isEmpty else { throw EvaluationError.labels("\(source):\(line.number): empty label") }
            let box = Box(left: minX, top: maxY, right: maxX, bottom: minY)
            guard let found = locate(box, in: dataset) else {
                skipped["box not inside any raster of the dataset", default: 0] += 1
                continue
            }
            rows.append((found.raster, found.window, label))
        }
        guard !rows.isEmpty else {
            throw EvaluationError.labels("no box of \(source) lies inside the imagery (skipped: \(skipped)); "
                                         + "hint: boxes are in the imagery's map units")
        }
        let names = Array(Set(rows.map(\.label))).sorted()
        let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        let tiles = rows.map { LabelledTile(raster: $0.raster, window: $0.window, label: index[$0.label]!) }
        return LabelledTiles(tiles: tiles, classNames: names, skipped: skipped)
    }

    /// The first raster whose pixels contain `box`, and the box as a window of it.
    static func locate(_ box: Box, in dataset: RasterDataset) -> (raster: Int, window: PixelWindow)? {
        for (index, info) in dataset.rasters.enumerated() {
            let window = info.geoTransform.window(of: box)
            if window.isInside(width: info.width, height: info.height, slack: 1e-6) { return (index, window) }
        }
        return nil
    }

    /// Comma-separated fields; double quotes protect commas ("a, b"), "" is a literal quote.
    static func fields(_ line: String) -> [String] {
        var fields: [String] = [], current = "", quoted = false
        var characters = line.makeIterator()
        while let character = characters.next() {
            if character == "\"" {
                if quoted, let next = characters.next() {
                    if next == "\"" { current.append("\"") } else {
                        quoted = false
                        if next == "," { fields.append(current); current = "" } else { current.append(next) }
                    }
                } else {
                    quoted.toggle()
                }
            } else if character == "," && !quoted {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields.map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
