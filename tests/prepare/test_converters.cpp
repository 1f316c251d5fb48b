// Each converter on a fixture that reproduces its dataset's real layout, quirks included
// (../shared/reference/DATASET_LAYOUTS.md): quoted CSV cells, tab separators with a header, 3- and 4-item
// EmoSet split entries, the Emotion6 `digust` folder typo, ties in Abstract, missing EmoSet attributes.
#include <filesystem>
#include <fstream>
#include <map>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/manifest.h"
#include "masp/stages.h"
#include "vlm/frozen_vlm.h"
#include "prepare/prepare_dataset.h"
#include "test_support.h"

namespace emotune {
namespace {
namespace fs = std::filesystem;

void put(const std::string& path, const std::string& text = "jpeg bytes") {
  ensure_directory(fs::path(path).parent_path().string());
  std::ofstream(path, std::ios::binary) << text;
}

PreparedDataset prepare(const std::string& dataset, const std::string& root, const std::string& out,
                        std::vector<std::string> overrides = {}) {
  auto c = load_config({}, overrides);
  return prepare_dataset(prepare_options(dataset, root, out, c.prepare));
}

std::map<std::string, const PreparedRow*> by_key(const PreparedDataset& d) {
  std::map<std::string, const PreparedRow*> m;
  for (const auto& r : d.rows) m[r.key] = &r;
  return m;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// info.json in the two shapes public loaders read fixes the label order; an unknown shape is an error rather
// than a silent default order (issue 34, finding 6).
TEST(PrepareEmoSet, InfoJsonInBothPublicShapesOrAnError) {
  const std::string order = R"({"sadness": 0, "fear": 1, "disgust": 2, "anger": 3, "excitement": 4, "contentment": 5, "awe": 6, "amusement": 7})";
  const std::vector<std::string> expected{"sadness", "fear", "disgust", "anger", "excitement", "contentment", "awe", "amusement"};
  for (const auto& info : {R"({"label2idx": {"emotion": )" + order + R"(, "brightness": {"0.1": 0}}})",
                           R"({"emotion": {"label2idx": )" + order + R"(, "idx2label": {"0": "sadness"}}})"}) {
    auto root = testing::scratch_dir("emoset");
    put(root + "/info.json", info);
    put(root + "/train.json", R"([["fear", "fear_00007", "image/fear/fear_00007.jpg"]])");
    put(root + "/image/fear/fear_00007.jpg");
    EXPECT_EQ(prepare("emoset", root, root + "/out").labels, expected) << info;
  }
  auto root = testing::scratch_dir("emoset_bad");
  put(root + "/info.json", R"({"labels": ["sadness", "fear"]})");
  put(root + "/train.json", R"([["fear", "fear_00007", "image/fear/fear_00007.jpg"]])");
  put(root + "/image/fear/fear_00007.jpg");
  auto error = error_of([&] { prepare("emoset", root, root + "/out"); });
  EXPECT_NE(error.find("info.json: no emotion -> index map found"), std::string::npos) << error;
}

TEST(PrepareEmoSet, ReadsThreeAndFourItemEntriesAndMissingAttributes) {
  auto root = testing::scratch_dir("emoset");
  put(root + "/info.json", R"({"label2idx": {"amusement": 0, "awe": 1, "contentment": 2, "excitement": 3, "anger": 4, "disgust": 5, "fear": 6, "sadness": 7}, "scene2idx": {"amusement_park": 0}})");
  put(root + "/train.json", R"([["amusement", "amusement_00001", "image/amusement/amusement_00001.jpg", "annotation/amusement/amusement_00001.json"], ["fear", "fear_00007", "image/fear/fear_00007.jpg", "annotation/fear/fear_00007.json"]])");
  put(root + "/test.json", R"([["sadness", "sadness_00003", "image/sadness/sadness_00003.jpg"]])");
  put(root + "/image/amusement/amusement_00001.jpg");
  put(root + "/image/fear/fear_00007.jpg");
  put(root + "/image/sadness/sadness_00003.jpg");
  put(root + "/annotation/amusement/amusement_00001.json",
      R"({"emotion": "amusement", "brightness": 0.6, "colorfulness": 0.9, "scene": "amusement_park", "object": ["Balloon", "Person"], "facial_expression": "happy", "human_action": "riding roller coaster"})");
  put(root + "/annotation/fear/fear_00007.json", R"({"emotion": "fear", "brightness": 0.1, "colorfulness": 0.0, "scene": "bakery/shop"})");
  put(root + "/annotation/sadness/sadness_00003.json", R"({"emotion": "sadness", "object": ["Tree"]})");
  auto d = prepare("emoset", root, root + "/out");
  ASSERT_EQ(d.rows.size(), 3u);
  auto rows = by_key(d);
  const auto* a = rows.at("image/amusement/amusement_00001.jpg");
  EXPECT_EQ(a->split, "train");
  EXPECT_EQ(a->aspects.size(), 6u);
  EXPECT_EQ(a->aspects["human_action"], "riding roller coaster");
  const auto* f = rows.at("image/fear/fear_00007.jpg");
  EXPECT_EQ(f->label, "fear");
  EXPECT_FALSE(f->aspects.contains("facial_expression"));
  EXPECT_DOUBLE_EQ(f->aspects["colorfulness"].get<double>(), 0.0);
  const auto* s = rows.at("image/sadness/sadness_00003.jpg");  // 3-item entry: annotation path derived
  EXPECT_EQ(s->split, "test");
  EXPECT_EQ(s->aspects.size(), 1u);
  EXPECT_EQ(d.notes.at("attribute 'human_action' absent"), 2);
  // The manifest loads with the standard loader and keeps the aspects.
  auto m = load_manifest(root + "/out/manifest.jsonl");
  EXPECT_EQ(m.rows.size(), 3u);
  EXPECT_EQ(m.split("test").at(0).aspects["object"][0], "Tree");
  EXPECT_FALSE(fs::exists(root + "/out/splits.json"));  // official splits: nothing computed
}

TEST(PrepareEmoSet, AffectWorldReadsBackAsItsOwnManifest) {
  auto manifest = testing::small_world(40);
  auto root = fs::path(manifest).parent_path().string();
  auto d = prepare("emoset", root, testing::scratch_dir("emoset_world"));
  auto original = load_manifest(manifest);
  ASSERT_EQ(d.rows.size(), original.rows.size());
  auto rows = by_key(d);
  for (const auto& r : original.rows) {
    const auto* p = rows.at(fs::path(r.image).lexically_relative(root).generic_string());
    EXPECT_EQ(p->label, r.label);
    EXPECT_EQ(p->split, r.split);
    EXPECT_EQ(p->aspects, r.aspects);
  }
}

TEST(PrepareFI, ClassFoldersAndFlatPrefixesGiveTheSameLabels) {
  auto folders = testing::scratch_dir("fi_folders"), flat = testing::scratch_dir("fi_flat");
  for (const char* c : {"amusement", "anger", "awe", "contentment", "disgust", "excitement", "fear", "sadness"})
    for (int i = 0; i < 5; ++i) {
      put(concat(folders, "/", c, "/", c, "_", i, ".jpg"));
      put(concat(flat, "/", c, "_", i, ".jpg"));
    }
  auto a = prepare("fi", folders, folders + "/out"), b = prepare("fi", flat, flat + "/out");
  ASSERT_EQ(a.rows.size(), 40u);
  auto ra = by_key(a), rb = by_key(b);
  for (const auto& [key, row] : rb) EXPECT_EQ(row->label, ra.at(key.substr(0, key.find('_')) + "/" + key)->label);
  // The default 80/5/15 split, stratified: 4 train, 0 val (5 x 0.05 rounds to 0), 1 test per class.
  std::map<std::string, int> per_split;
  for (const auto& r : a.rows) per_split[r.split]++;
  EXPECT_EQ(per_split["train"], 32);
  EXPECT_EQ(per_split["test"], 8);
  put(flat + "/joy_9.jpg");
  auto e = error_of([&] { prepare("fi", flat, flat + "/out2"); });
  EXPECT_NE(e.find("joy_9.jpg"), std::string::npos) << e;
  EXPECT_NE(e.find("not in this dataset's label set"), std::string::npos) << e;
}

TEST(PrepareEmotion6, TabSeparatedGroundTruthWithDigustFolder) {
  auto root = testing::scratch_dir("emotion6");
  put(root + "/ground_truth.txt",
      "[image_filename]\t[valence]\t[arousal]\t[prob. anger]\t[prob. disgust]\t[prob. fear]\t[prob. joy]\t[prob. sadness]\t[prob. surprise]\t[prob. neutral]\n"
      "disgust/1.jpg\t2.5\t3.8\t0.133333\t0.7\t0\t0.0666667\t0.1\t0\t0\n"
      "joy/1.jpg\t7.1\t5.2\t0\t0\t0\t0.4\t0\t0.4\t0.2\n"
      "fear/2.jpg\t3\t6\t0.1\t0\t0.5\t0\t0\t0\t0.4\n");
  put(root + "/images/digust/1.jpg");  // the typo folder of some copies
  put(root + "/images/joy/1.jpg");
  put(root + "/images/fear/2.jpg");
  auto d = prepare("emotion6", root, root + "/out");
  ASSERT_EQ(d.rows.size(), 3u);
  auto rows = by_key(d);
  const auto* dis = rows.at("images/digust/1.jpg");
  EXPECT_EQ(dis->label, "disgust");
  EXPECT_DOUBLE_EQ(dis->distribution["disgust"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(dis->dimensions["valence"].get<double>(), 2.5);
  EXPECT_EQ(rows.at("images/joy/1.jpg")->label, "joy");  // joy/surprise tie: the folder decides
  EXPECT_EQ(d.notes.at("found under the disgust/digust folder alias"), 1);
  EXPECT_EQ(d.labels, (std::vector<std::string>{"anger", "disgust", "fear", "joy", "sadness", "surprise"}));
  put(root + "/bad/ground_truth.txt", "header\nfear/2.jpg\t3\t6\t0.1\n");
  auto e = error_of([&] { prepare("emotion6", root + "/bad", root + "/out2"); });
  EXPECT_NE(e.find("ground_truth.txt:2"), std::string::npos) << e;
}

TEST(PrepareFlickr, MajorityOfThreeNeutralDropped) {
  auto root = testing::scratch_dir("flickr");
  put(root + "/flickr_votes.csv", "id,#positive,#neutral,#negative\n101,3,0,0\n102, 1, 2, 0\n103,1,1,1\n104,0,1,2\n");
  for (const char* id : {"101", "102", "103", "104"}) put(concat(root, "/images/", id, ".jpg"));
  auto d = prepare("flickr", root, root + "/out");
  auto rows = by_key(d);
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(rows.at("images/101.jpg")->label, "positive");
  EXPECT_EQ(rows.at("images/104.jpg")->label, "negative");
  EXPECT_EQ(d.dropped.at("neutral majority"), 1);
  EXPECT_EQ(d.dropped.at("no majority"), 1);
  put(root + "/flickr_votes.csv", "id,#positive,#neutral,#negative\n101,3,zero,0\n");
  auto e = error_of([&] { prepare("flickr", root, root + "/out3"); });
  EXPECT_NE(e.find("flickr_votes.csv:2"), std::string::npos) << e;
}

TEST(PrepareAbstract, SingleQuotedCellsAndTiedTopVotesDropped) {
  auto root = testing::scratch_dir("abstract");
  put(root + "/testImages_abstract/ABSTRACT_groundTruth.csv",
      "'','Amusement','Anger','Awe','Content','Disgust','Excitement','Fear','Sad'\n"
      "'abstract_1.jpg',3,0,1,0,0,2,0,0\n"
      "'abstract_2.jpg',0,2,0,0,0,0,2,1\n"
      "'abstract_3.jpg',0,0,0,4,0,0,0,1\n"
      "'abstract_4.jpg',1,0,0,0,0,0,0,5\n");
  for (int i = 1; i <= 4; ++i) put(concat(root, "/testImages_abstract/abstract_", i, ".jpg"));
  auto d = prepare("abstract", root, root + "/out");
  auto rows = by_key(d);
  ASSERT_EQ(d.rows.size(), 3u);
  EXPECT_EQ(d.dropped.at("top vote tied"), 1);
  EXPECT_EQ(rows.at("testImages_abstract/abstract_1.jpg")->label, "amusement");
  EXPECT_EQ(rows.at("testImages_abstract/abstract_3.jpg")->label, "contentment");
  EXPECT_EQ(rows.at("testImages_abstract/abstract_4.jpg")->label, "sadness");
  EXPECT_EQ(rows.at("testImages_abstract/abstract_1.jpg")->distribution["excitement"], 2);
}

TEST(PrepareArtPhoto, FilenamePrefixesBesideTheReadMe) {
  auto root = testing::scratch_dir("artphoto");
  put(root + "/testImages_artphoto/ReadMe.rtf", "{\\rtf1 readme}");
  put(root + "/testImages_artphoto/sad_102.jpg");
  put(root + "/testImages_artphoto/contentment_7.jpg");
  put(root + "/testImages_artphoto/awe_photo_3.jpg");
  auto d = prepare("artphoto", root, root + "/out");
  auto rows = by_key(d);
  ASSERT_EQ(d.rows.size(), 3u);
  EXPECT_EQ(rows.at("testImages_artphoto/sad_102.jpg")->label, "sadness");
  EXPECT_EQ(rows.at("testImages_artphoto/awe_photo_3.jpg")->label, "awe");
}

TEST(PrepareWEBEmo, TwentyFiveClassesAndTheSevenClassMapping) {
  auto root = testing::scratch_dir("webemo");
  std::string categories;
  const char* names[] = {"affection", "cheerfullness", "confusion", "contentment", "disappointment", "disgust", "enthrallment",
                         "envy", "exasperation", "gratitude", "horror", "irritabilty", "lust", "neglect", "nervousness",
                         "optimism", "pride", "rage", "relief", "sadness", "shame", "suffering", "surprise", "sympathy", "zest"};
  for (int i = 0; i < 25; ++i) categories += concat(i, " ", names[i], "\n");
  put(root + "/category.txt", categories);
  put(root + "/train25.txt", "https://img.example.com/a/123.jpg 1\nhttps://img.example.com/b/456.jpg?size=l 11\n");
  put(root + "/test25.txt", "https://img.example.com/c/789.jpg 17\n");
  for (const char* f : {"123.jpg", "456.jpg", "789.jpg"}) put(concat(root, "/images/", f));
  auto d25 = prepare("webemo", root, root + "/out25");
  EXPECT_EQ(d25.labels.size(), 25u);
  EXPECT_EQ(by_key(d25).at("images/123.jpg")->label, "cheerfullness");
  EXPECT_EQ(by_key(d25).at("images/456.jpg")->label, "irritabilty");
  auto d7 = prepare("webemo", root, root + "/out7", {"prepare.webemo_classes=7"});
  EXPECT_EQ(d7.labels.size(), 7u);
  EXPECT_EQ(by_key(d7).at("images/123.jpg")->label, "joy");
  EXPECT_EQ(by_key(d7).at("images/789.jpg")->label, "anger");
  EXPECT_EQ(by_key(d7).at("images/789.jpg")->split, "test");
  auto d2 = prepare("webemo", root, root + "/out2", {"prepare.webemo_classes=2"});
  EXPECT_EQ(by_key(d2).at("images/456.jpg")->label, "negative");
  put(root + "/map.yaml", "affection: love\ncheerfullness: happy\n");
  auto e = error_of([&] { prepare("webemo", root, root + "/outm", {"prepare.webemo_classes=7", "prepare.label_map=" + root + "/map.yaml"}); });
  EXPECT_NE(e.find("'confusion' has no entry in"), std::string::npos) << e;
}

TEST(PrepareAffection, QuotedUtterancesPerUserSplitsAndUnknownLabels) {
  auto root = testing::scratch_dir("affection");
  std::string csv = "workerid,utterance,emotion,dataset,image_name\n";
  for (int u = 0; u < 3; ++u)
    for (int i = 0; i < 10; ++i)
      csv += concat("w", u, ",\"It feels \"\"calm\"\", like a lake,\nat dawn\",", i % 2 ? "contentment" : "something else", ",wikiart,img", i, ".jpg\n");
  csv += "w0,again,awe,wikiart,img0.jpg\n";  // the same worker on the same image again
  put(root + "/affection_raw_public_version_0.csv", csv);
  for (int i = 0; i < 10; ++i) put(concat(root, "/images/wikiart/img", i, ".jpg"));
  auto d = prepare("affection", root, root + "/out");
  ASSERT_EQ(d.rows.size(), 30u);
  EXPECT_EQ(d.dropped.begin()->second, 1);
  std::map<std::string, int> train_per_user;
  for (const auto& r : d.rows) {
    EXPECT_EQ(r.meta["utterance"], "It feels \"calm\", like a lake,\nat dawn");
    if (r.split == "train") train_per_user[r.user]++;
  }
  for (const char* u : {"w0", "w1", "w2"}) EXPECT_EQ(train_per_user[u], 3) << u;  // 30% of 10 per user
  auto m = load_manifest(root + "/out/manifest.jsonl");
  EXPECT_EQ(m.rows.front().user, "w0");
  put(root + "/bad/affection_raw_public_version_0.csv", "workerid,utterance,emotion,dataset,image_name\nw0,hm,joyful,wikiart,img0.jpg\n");
  auto e = error_of([&] { prepare("affection", root + "/bad", root + "/out_bad", {"prepare.image_pattern=../images/{dataset}/{image_name}"}); });
  EXPECT_NE(e.find("affection_raw_public_version_0.csv:2"), std::string::npos) << e;
  EXPECT_NE(e.find("'joyful'"), std::string::npos) << e;
}

TEST(PrepareFolders, SplitClassFoldersLikeFer2013) {
  auto root = testing::scratch_dir("fer");
  for (const char* s : {"train", "test"})
    for (const char* c : {"angry", "happy", "neutral"}) put(concat(root, "/", s, "/", c, "/im1.jpg"));
  auto d = prepare("folder", root, root + "/out");
  EXPECT_EQ(d.labels, (std::vector<std::string>{"angry", "happy", "neutral"}));
  EXPECT_EQ(d.rows.size(), 6u);
  EXPECT_EQ(by_key(d).at("test/happy/im1.jpg")->split, "test");
}

TEST(PrepareSplits, ReproducibleAndChangesAreReportedNotResplit) {
  auto root = testing::scratch_dir("splits");
  for (const char* c : {"amusement", "anger", "awe", "contentment", "disgust", "excitement", "fear", "sadness"})
    for (int i = 0; i < 12; ++i) put(concat(root, "/data/", c, "/", i, ".jpg"));
  prepare("fi", root + "/data", root + "/a");
  prepare("fi", root + "/data", root + "/b");
  EXPECT_EQ(read_file(root + "/a/splits.json"), read_file(root + "/b/splits.json"));
  EXPECT_EQ(read_file(root + "/a/manifest.jsonl"), read_file(root + "/b/manifest.jsonl"));
  auto first = read_file(root + "/a/splits.json");
  prepare("fi", root + "/data", root + "/a");  // a rerun reuses the file
  EXPECT_EQ(read_file(root + "/a/splits.json"), first);
  put(root + "/data/awe/99.jpg");
  auto e = error_of([&] { prepare("fi", root + "/data", root + "/a"); });
  EXPECT_NE(e.find("1 added (e.g. awe/99.jpg)"), std::string::npos) << e;
  EXPECT_EQ(read_file(root + "/a/splits.json"), first);  // untouched
  fs::remove(root + "/data/fear/3.jpg");
  e = error_of([&] { prepare("fi", root + "/data", root + "/a"); });
  EXPECT_NE(e.find("1 removed (e.g. fear/3.jpg)"), std::string::npos) << e;
  e = error_of([&] { prepare("fi", root + "/data", root + "/b", {"prepare.seed=9"}); });
  EXPECT_NE(e.find("prepare.resplit=true"), std::string::npos) << e;
  prepare("fi", root + "/data", root + "/a", {"prepare.resplit=true"});
  EXPECT_TRUE(fs::exists(root + "/a/splits.json.bak"));
  EXPECT_NE(read_file(root + "/a/splits.json"), first);
  // Different seeds give different splits; the class proportions stay (stratified).
  prepare("fi", root + "/data", root + "/c", {"prepare.seed=9"});
  EXPECT_NE(read_file(root + "/c/splits.json"), read_file(root + "/a/splits.json"));
}

// Too few images per label for the ratios: the test split comes out empty. prepare.json and stderr say so,
// dataset.yaml still evaluates on test, and evaluating it is an error naming the split (issue 34, finding 5).
TEST(PrepareSplits, AnEmptyComputedSplitIsReportedAndEvaluatingItFails) {
  auto root = testing::scratch_dir("tiny");
  for (const char* c : {"amusement", "anger", "awe", "contentment", "disgust", "excitement", "fear", "sadness"}) put(concat(root, "/data/", c, "/0.jpg"));
  auto d = prepare("fi", root + "/data", root + "/out", {"prepare.split_ratios=[0.8, 0, 0.2]"});
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_NE(d.warnings[0].find("split 'test' is empty"), std::string::npos) << d.warnings[0];
  auto summary = nlohmann::json::parse(read_file(root + "/out/prepare.json"));
  EXPECT_EQ(summary["warnings"][0], d.warnings[0]);
  auto dataset = load_config({root + "/out/dataset.yaml"}, {});
  EXPECT_EQ(dataset.data.eval_split, "test") << "not quietly another split";
  EXPECT_TRUE(load_manifest(dataset.data.manifest).split("test").empty());
  dataset.bundle = testing::tiny_bundle();
  auto e = error_of([&] {
    auto vlm = open_bundle(dataset);
    open_split(*vlm, dataset, dataset.data.eval_split);
  });
  EXPECT_NE(e.find("no rows in split 'test'"), std::string::npos) << e;
  // Ratios with room for every split: no warning.
  EXPECT_TRUE(prepare("fi", root + "/data", root + "/whole", {"prepare.split_ratios=[1, 0, 0]"}).warnings.empty());
}

}  // namespace
}  // namespace emotune

namespace emotune {
namespace {
// FER-2013 by name, and the folder converter suggested for any folder layout (issue 28, finding 4).
TEST(PrepareFolders, Fer2013ByNameWithItsLabelOrder) {
  auto root = emotune::testing::scratch_dir("fer2013");
  for (const char* s : {"train", "test"})
    for (const char* c : {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"}) put(concat(root, "/", s, "/", c, "/im1.jpg"), c);
  for (const char* name : {"fer", "fer2013"}) {
    auto d = prepare(name, root, emotune::testing::scratch_dir(std::string("fer_out_") + name));  // outside the root
    EXPECT_EQ(d.name, "fer2013");
    EXPECT_EQ(d.labels, (std::vector<std::string>{"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}));
    EXPECT_EQ(d.rows.size(), 14u);
  }
  auto message = error_of([&] { prepare("faces", root, emotune::testing::scratch_dir("fer_out_x")); });
  EXPECT_NE(message.find("class folders"), std::string::npos) << message;
  EXPECT_NE(message.find("'folder'"), std::string::npos) << message;
}

// A byte-identical copy of a training image in the test split is reported with the pair (finding 10); copies
// within one split, and same-sized images that differ, are not.
TEST(PrepareSplits, ByteIdenticalImagesAcrossSplitsAreReported) {
  auto root = emotune::testing::scratch_dir("cross_split");
  put(root + "/train/angry/a.jpg", "picture A");
  put(root + "/test/happy/b.jpg", "picture A");   // the copy
  put(root + "/train/happy/c.jpg", "picture C");  // same size, other bytes
  put(root + "/test/angry/d.jpg", "picture D");
  put(root + "/train/happy/e.jpg", "picture D2");
  put(root + "/train/angry/f.jpg", "picture D2");  // a copy within train
  auto d = prepare("folder", root, root + "/out");
  ASSERT_EQ(d.cross_split_duplicates.size(), 1u) << d.cross_split_duplicates.dump();
  const auto& pair = d.cross_split_duplicates[0];
  EXPECT_EQ(fs::path(pair["image"].get<std::string>()).filename(), "b.jpg");
  EXPECT_EQ(pair["split"], "test");
  EXPECT_EQ(fs::path(pair["copy"].get<std::string>()).filename(), "a.jpg");
  EXPECT_EQ(pair["copy_split"], "train");
  auto summary = nlohmann::json::parse(read_file(root + "/out/prepare.json"));
  EXPECT_EQ(summary["cross_split_duplicates"].size(), 1u);
  ASSERT_EQ(summary["warnings"].size(), 1u);
  EXPECT_NE(summary["warnings"][0].get<std::string>().find("1 test/train"), std::string::npos) << summary["warnings"];
}
}  // namespace
}  // namespace emotune
