// alveo.hpp -- the whole alveoflow HLS template library (namespace alveo).
// Generated code includes this one header. See each header for semantics, stream formats,
// memory layouts and the config-struct fields it expects; docs/weight_layouts.md summarises
// the layouts.
#ifndef ALVEO_HPP
#define ALVEO_HPP

#include "alveo_common.hpp"
#include "alveo_dma.hpp"
#include "alveo_fc_external.hpp"
#include "alveo_label_select.hpp"
#include "alveo_mac.hpp"
#include "alveo_mmv.hpp"
#include "alveo_mvau.hpp"
#include "alveo_pool.hpp"
#include "alveo_streams.hpp"
#include "alveo_swg.hpp"
#include "alveo_threshold.hpp"
#include "alveo_vvau.hpp"

#endif  // ALVEO_HPP
