// Aspect annotations → the answer strings stage 1 is trained on (paper §Implementation Details; the
// reference code's conventions in ../shared/reference): strings lower-cased with underscores as spaces,
// lists joined with ", ", numbers in [0,1] (brightness, colorfulness) binned into five 0.2-wide bins.
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace emotune {

// "very low" [0,0.2), "low" [0.2,0.4), "moderate" [0.4,0.6), "high" [0.6,0.8), "very high" [0.8,1].
std::string brightness_bin(double value);
// nullopt when the aspect is absent or empty (and, with skip_zero, for the reference code's 0.0 quirk).
// `where` names the manifest line in errors (a number outside [0,1], a value of the wrong type).
std::optional<std::string> aspect_answer(const nlohmann::json& value, bool skip_zero, const std::string& where,
                                         const std::string& aspect);

}  // namespace emotune
