// The plugins layer (placeholder until the layer lands).
#pragma once
