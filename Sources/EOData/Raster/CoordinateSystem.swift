import CGDAL

/// CRS helpers over OGR's spatial-reference API. Every function owns and frees its handles.
public enum CoordinateSystem {
    /// True when both WKT strings describe the same CRS (both empty also counts as the same).
    public static func isSame(_ wktA: String, _ wktB: String) -> Bool {
        if wktA == wktB { return true }
        if wktA.isEmpty || wktB.isEmpty { return false }
        GDALRuntime.ensureRegistered()
        guard let a = OSRNewSpatialReference(wktA) else { return false }
        defer { OSRDestroySpatialReference(a) }
        guard let b = OSRNewSpatialReference(wktB) else { return false }
        defer { OSRDestroySpatialReference(b) }
        return OSRIsSame(a, b) != 0
    }

    /// "EPSG:4326"-style authority code of a CRS, if OGR can identify one.
    public static func authorityCode(_ wkt: String) -> String? {
        guard !wkt.isEmpty else { return nil }
        GDALRuntime.ensureRegistered()
        guard let srs = OSRNewSpatialReference(wkt) else { return nil }
        defer { OSRDestroySpatialReference(srs) }
        if OSRGetAuthorityCode(srs, nil) == nil { _ = OSRAutoIdentifyEPSG(srs) }
        guard let name = OSRGetAuthorityName(srs, nil), let code = OSRGetAuthorityCode(srs, nil) else { return nil }
        return "\(String(cString: name)):\(String(cString: code))"
    }

    /// The lon/lat (WGS 84) bounding box of a map-unit box, from a 5×5 grid of points on it;
    /// nil if the CRS is empty or the transformation fails.
    public static func geographicBounds(of box: Box, wkt: String) -> Box? {
        guard !wkt.isEmpty else { return nil }
        GDALRuntime.ensureRegistered()
        guard let source = OSRNewSpatialReference(wkt), let target = OSRNewSpatialReference(nil) else { return nil }
        defer { OSRDestroySpatialReference(source); OSRDestroySpatialReference(target) }
        guard OSRImportFromEPSG(target, 4326) == OGRERR_NONE else { return nil }
        OSRSetAxisMappingStrategy(source, OAMS_TRADITIONAL_GIS_ORDER)
        OSRSetAxisMappingStrategy(target, OAMS_TRADITIONAL_GIS_ORDER)
        GDALRuntime.resetError()
        guard let transform = OCTNewCoordinateTransformation(source, target) else { return nil }
        defer { OCTDestroyCoordinateTransformation(transform) }
        var xs: [Double] = [], ys: [Double] = []
        for i in 0...4 {
            for j in 0...4 {
                xs.append(box.left + (box.right - box.left) * Double(j) / 4)
                ys.append(box.bottom + (box.top - box.bottom) * Double(i) / 4)
            }
        }
        var ok = [Int32](repeating: 0, count: xs.count)
        guard OCTTransformEx(transform, Int32(xs.count), &xs, &ys, nil, &ok) != 0 else { return nil }
        let valid = ok.indices.filter { ok[$0] != 0 && xs[$0].isFinite && ys[$0].isFinite }
        guard !valid.isEmpty else { return nil }
        let vx = valid.map { xs[$0] }, vy = valid.map { ys[$0] }
        return Box(left: vx.min()!, top: vy.max()!, right: vx.max()!, bottom: vy.min()!)
    }
}
