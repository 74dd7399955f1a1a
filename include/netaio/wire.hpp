// The wire layer (placeholder until the layer lands).
#pragma once
