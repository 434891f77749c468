import CGDAL
import Foundation

/// The one place a class legend becomes styles other programs read: the GDAL raster attribute
/// table of a class map, the QGIS `.qml` style written beside each map (`NAME.qml` next to
/// `NAME.tif`), and the QGIS style stored in a GeoPackage's `layer_styles` table for its class
/// polygons. Colour tables and category names are written by ``ClassRasterWriter`` from the same
/// ``ClassLegend``.
///
/// Class `i` has pixel value `i`, name `legend.names[i]` and colour `legend.colors[i]`; styles list
/// exactly these classes (no entries for the unused values of a 256-entry colour table), and the
/// map's nodata value draws transparent.
public enum ClassStyle {
    /// The `.qml` path QGIS loads by default for a map: the map's path with its extension
    /// replaced by `.qml` (`out/scene_landcover.tif` -> `out/scene_landcover.qml`).
    public static func qmlPath(forMap mapPath: String) -> String {
        (mapPath as NSString).deletingPathExtension + ".qml"
    }

    /// Escapes text for an XML attribute value.
    static func xmlEscaped(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }

    /// A QGIS raster style (QGIS 3 `.qml`): the paletted renderer on band 1 with one palette entry
    /// per class (value, colour, label), opaque, no alpha band; values outside the legend (the
    /// nodata value) are not in the palette and draw transparent, as does the band's nodata.
    public static func rasterQML(legend: ClassLegend) -> String {
        let entries = legend.names.enumerated().map { index, name in
            "        <paletteEntry value=\"\(index)\" color=\"\(legend.colors[index].hex)\" alpha=\"255\" label=\"\(xmlEscaped(name))\"/>"
        }.joined(separator: "\n")
        return """
        <!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
        <qgis version="3.22.0" styleCategories="Symbology">
          <pipe>
            <provider>
              <resampling enabled="false" zoomedInResamplingMethod="nearestNeighbour" zoomedOutResamplingMethod="nearestNeighbour" maxOversampling="2"/>
            </provider>
            <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" nodataColor="">
              <rasterTransparency/>
              <minMaxOrigin>
                <limits>None</limits>
                <extent>WholeRaster</extent>
                <statAccuracy>Estimated</statAccuracy>
                <cumulativeCutLower>0.02</cumulativeCutLower>
                <cumulativeCutUpper>0.98</cumulativeCutUpper>
                <stdDevFactor>2</stdDevFactor>
              </minMaxOrigin>
              <colorPalette>
        \(entries)
              </colorPalette>
            </rasterrenderer>
            <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
            <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0" colorizeRed="255" colorizeGreen="128" colorizeBlue="128" colorizeStrength="100" invertColors="0"/>
            <rasterresampler maxOversampling="2"/>
            <resamplingStage>resamplingFilter</resamplingStage>
          </pipe>
          <blendMode>0</blendMode>
        </qgis>

        """
    }

    /// A QGIS vector style (QGIS 3 `.qml`) for class polygons: a categorized renderer on the
    /// `class` attribute, one solid fill without outline per class, labelled with the class name.
    public static func polygonQML(legend: ClassLegend, attribute: String = "class") -> String {
        let categories = legend.names.enumerated().map { index, name in
            "      <category value=\"\(index)\" label=\"\(xmlEscaped(name))\" symbol=\"\(index)\" render=\"true\"/>"
        }.joined(separator: "\n")
        let symbols = legend.colors.enumerated().map { index, color in
            """
                  <symbol type="fill" name="\(index)" alpha="1" clip_to_extent="1" force_rhr="0">
                    <layer class="SimpleFill" enabled="1" pass="0" locked="0">
                      <Option type="Map">
                        <Option name="color" type="QString" value="\(color.red),\(color.green),\(color.blue),255"/>
                        <Option name="style" type="QString" value="solid"/>
                        <Option name="outline_style" type="QString" value="no"/>
                        <Option name="outline_color" type="QString" value="\(color.red),\(color.green),\(color.blue),255"/>
                        <Option name="outline_width" type="QString" value="0"/>
                        <Option name="joinstyle" type="QString" value="bevel"/>
                      </Option>
                    </layer>
                  </symbol>
            """
        }.joined(separator: "\n")
        return """
        <!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
        <qgis version="3.22.0" styleCategories="Symbology">
          <renderer-v2 type="categorizedSymbol" attr="\(xmlEscaped(attribute))" symbollevels="0" enableorderby="0" forceraster="0">
            <categories>
        \(categories)
            </categories>
            <symbols>
        \(symbols)
            </symbols>
          </renderer-v2>
          <blendMode>0</blendMode>
          <featureBlendMode>0</featureBlendMode>
          <layerGeometryType>2</layerGeometryType>
        </qgis>

        """
    }

    /// The same polygon style as OGC Styled Layer Descriptor 1.1 (the `styleSLD` column): one
    /// rule per class filtering on `attribute`.
    public static func polygonSLD(legend: ClassLegend, layerName: String, attribute: String = "class") -> String {
        let rules = legend.names.enumerated().map { index, name in
            """
                    <se:Rule>
                      <se:Name>\(xmlEscaped(name))</se:Name>
                      <ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>\(xmlEscaped(attribute))</ogc:PropertyName><ogc:Literal>\(index)</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>
                      <se:PolygonSymbolizer><se:Fill><se:SvgParameter name="fill">\(legend.colors[index].hex)</se:SvgParameter></se:Fill></se:PolygonSymbolizer>
                    </se:Rule>
            """
        }.joined(separator: "\n")
        return """
        <?xml version="1.0" encoding="UTF-8"?>
        <StyledLayerDescriptor xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc" xmlns:se="http://www.opengis.net/se" version="1.1.0">
          <NamedLayer>
            <se:Name>\(xmlEscaped(layerName))</se:Name>
            <UserStyle>
              <se:Name>\(xmlEscaped(layerName))</se:Name>
              <se:FeatureTypeStyle>
        \(rules)
              </se:FeatureTypeStyle>
            </UserStyle>
          </NamedLayer>
        </StyledLayerDescriptor>

        """
    }

    /// Writes the map's `.qml` through ``AtomicFile``: complete or absent, never partial.
    /// - Throws: ``RasterIOError/writeFailed(path:reason:)`` or ``RasterIOError/noSpace(path:folder:)``
    ///   naming `qmlPath`.
    public static func writeRasterQML(legend: ClassLegend, to qmlPath: String) throws {
        try AtomicFile.write(Data(rasterQML(legend: legend).utf8), to: qmlPath)
    }

    /// Attaches the legend as band 1's default raster attribute table: columns `value` (min-max),
    /// `class` (name) and `red`, `green`, `blue`, `alpha`, one row per class. GeoTIFF keeps it in
    /// the `.aux.xml` sidecar (GDAL stores no RAT inside TIFF files).
    static func attachAttributeTable(legend: ClassLegend, to band: GDALRasterBandH, path: String) throws {
        guard let table = GDALCreateRasterAttributeTable() else {
            throw RasterIOError.writeFailed(path: path, reason: "cannot allocate a raster attribute table")
        }
        defer { GDALDestroyRasterAttributeTable(table) }
        GDALRATSetTableType(table, GRTT_THEMATIC)
        let columns: [(String, GDALRATFieldType, GDALRATFieldUsage)] = [
            ("value", GFT_Integer, GFU_MinMax), ("class", GFT_String, GFU_Name),
            ("red", GFT_Integer, GFU_Red), ("green", GFT_Integer, GFU_Green), ("blue", GFT_Integer, GFU_Blue),
            ("alpha", GFT_Integer, GFU_Alpha),
        ]
        for (name, type, usage) in columns {
            try GDALCall.check(GDALRATCreateColumn(table, name, type, usage), "adding the attribute-table column \(name)", path: path)
        }
        GDALRATSetRowCount(table, Int32(legend.names.count))
        for (index, name) in legend.names.enumerated() {
            let row = Int32(index), color = legend.colors[index]
            GDALRATSetValueAsInt(table, row, 0, Int32(index))
            GDALRATSetValueAsString(table, row, 1, name)
            GDALRATSetValueAsInt(table, row, 2, Int32(color.red))
            GDALRATSetValueAsInt(table, row, 3, Int32(color.green))
            GDALRATSetValueAsInt(table, row, 4, Int32(color.blue))
            GDALRATSetValueAsInt(table, row, 5, 255)
        }
        try GDALCall.check(GDALSetDefaultRAT(band, table), "setting the raster attribute table", path: path)
    }

    /// Name of the QGIS/OGC style table in a GeoPackage.
    public static let styleTable = "layer_styles"

    /// Adds the polygon style to the GeoPackage at `path` as QGIS does: a `layer_styles`
    /// attributes table (registered in `gpkg_contents` by GDAL's GeoPackage driver) with one row
    /// for `layerName`, `useAsDefault` true, so QGIS applies it when the layer is opened.
    /// - Throws: ``RasterIOError`` naming `path` when GDAL cannot add the table or the row.
    public static func addLayerStyle(toGeoPackage path: String, layerName: String, geometryColumn: String,
                                     legend: ClassLegend) throws {
        GDALEnvironment.ensureInitialized()
        GDALCall.reset()
        let dataset = try GDALCall.check(GDALOpenEx(path, UInt32(GDAL_OF_VECTOR | GDAL_OF_UPDATE | GDAL_OF_VERBOSE_ERROR), nil, nil, nil),
                                         "opening the polygons to add their style", path: path)
        defer { GDALClose(dataset) }
        let layer = try GDALCall.check(GDALDatasetCreateLayer(dataset, styleTable, nil, wkbNone, nil),
                                       "creating the layer_styles table", path: path)
        let fields: [(String, OGRFieldType, Int32, OGRFieldSubType)] = [
            ("f_table_catalog", OFTString, 256, OFSTNone), ("f_table_schema", OFTString, 256, OFSTNone),
            ("f_table_name", OFTString, 256, OFSTNone), ("f_geometry_column", OFTString, 256, OFSTNone),
            ("styleName", OFTString, 30, OFSTNone), ("styleQML", OFTString, 0, OFSTNone), ("styleSLD", OFTString, 0, OFSTNone),
            ("useAsDefault", OFTInteger, 0, OFSTBoolean), ("description", OFTString, 0, OFSTNone),
            ("owner", OFTString, 30, OFSTNone), ("ui", OFTString, 30, OFSTNone), ("update_time", OFTDateTime, 0, OFSTNone),
        ]
        for (name, type, width, subtype) in fields {
            let field = OGR_Fld_Create(name, type)
            defer { OGR_Fld_Destroy(field) }
            if width > 0 { OGR_Fld_SetWidth(field, width) }
            if subtype != OFSTNone { OGR_Fld_SetSubType(field, subtype) }
            guard OGR_L_CreateField(layer, field, 1) == OGRERR_NONE else {
                throw RasterIOError.gdalFailure(operation: "adding the layer_styles column \(name)", path: path, gdalMessage: GDALCall.lastMessage())
            }
        }
        let definition = OGR_L_GetLayerDefn(layer)
        guard let feature = OGR_F_Create(definition) else {
            throw RasterIOError.writeFailed(path: path, reason: "cannot allocate the layer_styles row")
        }
        defer { OGR_F_Destroy(feature) }
        let values: [(String, String)] = [
            ("f_table_catalog", ""), ("f_table_schema", ""), ("f_table_name", layerName), ("f_geometry_column", geometryColumn),
            ("styleName", layerName), ("styleQML", polygonQML(legend: legend)),
            ("styleSLD", polygonSLD(legend: legend, layerName: layerName)),
            ("description", "landcover classes: " + legend.names.joined(separator: ", ")), ("owner", ""), ("ui", ""),
        ]
        for (name, value) in values {
            OGR_F_SetFieldString(feature, OGR_FD_GetFieldIndex(definition, name), value)
        }
        OGR_F_SetFieldInteger(feature, OGR_FD_GetFieldIndex(definition, "useAsDefault"), 1)
        // A fixed time: the polygons of a scene stay the same bytes from run to run.
        OGR_F_SetFieldDateTimeEx(feature, OGR_FD_GetFieldIndex(definition, "update_time"), 1970, 1, 1, 0, 0, 0, 100)
        guard OGR_L_CreateFeature(layer, feature) == OGRERR_NONE else {
            throw RasterIOError.gdalFailure(operation: "writing the layer_styles row", path: path, gdalMessage: GDALCall.lastMessage())
        }
    }
}
