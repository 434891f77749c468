import RasterIO
import CNN

/// The landcover pipeline: pipeline files, scene assembly, tiling, parallel classification and
/// writing. The only module where rasters (band-sequential buffers) meet tensors (NCHW).
public enum PipelineModule {}
