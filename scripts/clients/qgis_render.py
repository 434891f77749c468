#!/usr/bin/python3
"""Opens class maps in real QGIS (offscreen) the way a user does, and reports what QGIS makes of them.

Usage: qgis_render.py OUT.json MAP.tif[=RENDER.png] [VECTOR.gpkg ...]

For each raster: the renderer QGIS picks by itself (a `.qml` beside the file is loaded by default),
the legend entries of that renderer, the palette classes, and the map rendered pixel for pixel
(extent = the layer's, size = the raster's) into RENDER.png on a transparent background. For each
GeoPackage: the renderer type and legend QGIS gets from the file's default `layer_styles` row.
Run with QT_QPA_PLATFORM=offscreen and XDG_RUNTIME_DIR set. Needs Debian's python3-qgis.
"""
import json
import sys

from qgis.core import (Qgis, QgsApplication, QgsMapRendererParallelJob, QgsMapSettings, QgsRasterLayer,
                       QgsVectorLayer)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def raster_report(path, render_path):
    layer = QgsRasterLayer(path, "map")
    if not layer.isValid():
        return {"path": path, "valid": False}
    renderer = layer.renderer()
    report = {
        "path": path,
        "valid": True,
        "renderer": renderer.type(),
        "band_count": layer.bandCount(),
        "legend": [label for label, _ in renderer.legendSymbologyItems()],
        "legend_colors": [color.name() for _, color in renderer.legendSymbologyItems()],
        "alpha_band": renderer.alphaBand(),
    }
    if renderer.type() == "paletted":
        report["classes"] = [{"value": c.value, "label": c.label, "color": c.color.name(), "alpha": c.color.alpha()}
                             for c in renderer.classes()]
    if render_path:
        settings = QgsMapSettings()
        settings.setLayers([layer])
        settings.setDestinationCrs(layer.crs())
        settings.setExtent(layer.extent())
        settings.setOutputSize(QSize(layer.width(), layer.height()))
        settings.setBackgroundColor(QColor(0, 0, 0, 0))
        job = QgsMapRendererParallelJob(settings)
        job.start()
        job.waitForFinished()
        image = job.renderedImage()
        report["rendered"] = image.save(render_path, "PNG")
        report["render_size"] = [image.width(), image.height()]
    return report


def vector_report(path):
    layer = QgsVectorLayer(path + "|layername=landcover", "polygons", "ogr")
    if not layer.isValid():
        return {"path": path, "valid": False}
    renderer = layer.renderer()
    legend = [item.label() for item in renderer.legendSymbolItems()]
    return {"path": path, "valid": True, "renderer": renderer.type(), "legend": legend,
            "feature_count": layer.featureCount()}


def main():
    output = sys.argv[1]
    app = QgsApplication([], False)
    app.initQgis()
    reports = []
    for argument in sys.argv[2:]:
        if argument.endswith(".gpkg"):
            reports.append(vector_report(argument))
        else:
            path, _, render = argument.partition("=")
            reports.append(raster_report(path, render))
    with open(output, "w") as handle:
        json.dump({"qgis": Qgis.QGIS_VERSION, "layers": reports}, handle, indent=1)
    app.exitQgis()


if __name__ == "__main__":
    main()
