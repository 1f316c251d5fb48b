// How the affect world draws its aspects with OpenCV (docs/affect-world.md, "The world"). Every shape is
// sized from the image side, so a world renders the same content at 96 or 224 px. Faces and figures are
// drawn large enough to survive JPEG and the VLM's patching at 96 px: a face spans ~1/4 of the image, a
// figure ~2/5 of its height.
#pragma once
#include <opencv2/core.hpp>

#include <random>

namespace emotune {

void draw_scene(cv::Mat& img, int scene, std::mt19937_64& rng);
// One object of world_objects() centred at c, of radius r.
void draw_object(cv::Mat& img, int object, cv::Point c, int r);
// A face of world_expressions()[expression] centred at c, of radius r: brows, eyes and mouth carry the
// expression; the skin tint varies per image (so colour alone does not name the expression).
void draw_face(cv::Mat& img, int expression, cv::Point c, int r, std::mt19937_64& rng);
// world_actions()[action] as stick figures standing on baseline y around x, figure height h
// (hugging and fighting draw two figures).
void draw_action(cv::Mat& img, int action, int x, int y, int h, std::mt19937_64& rng);
// Global lighting (multiplies intensity) and saturation (blends toward grey).
void apply_lighting(cv::Mat& img, double light, double saturation);

}  // namespace emotune
