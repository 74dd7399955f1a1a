// The io layer (placeholder until the layer lands).
#pragma once
