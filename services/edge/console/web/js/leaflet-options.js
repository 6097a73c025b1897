// Read by Leaflet as it loads (this file comes first): position markers with left/top,
// not 3D transforms. Each 3D-transformed marker becomes a compositing layer of its own;
// with hundreds of units and incidents on the map, laying those layers out took most of
// every frame (measured: ~200 ms a frame with 500 markers, software-rendered).
window.L_DISABLE_3D = true
