"""Text the tiny tokenizer is trained on: the chat-template words, every question template emotune ships,
the label names of the common benchmark label sets, and the aspect answer vocabulary."""

LABEL_SETS = {
    "emoset": ["amusement", "awe", "contentment", "excitement", "anger", "disgust", "fear", "sadness"],
    "emotion6": ["anger", "disgust", "fear", "joy", "sadness", "surprise"],
    "artphoto": ["amusement", "anger", "awe", "content", "disgust", "excitement", "fear", "sad"],
    "binary": ["positive", "negative"],
    "fer": ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"],
    "affection": ["something else"],
}

ASPECT_WORDS = [
    "very low", "low", "moderate", "high", "very high",
    "angry", "disgust", "fear", "happy", "sad", "surprise", "no face",
    "beach", "forest", "night street", "room", "storm", "amusement park", "mountain", "city", "field", "sky",
    "dog", "cat", "car", "balloon", "flower", "tree", "person", "house", "ball", "gift", "spider", "knife",
    "running", "sitting", "falling", "hugging", "fighting", "walking", "dancing", "crying", "standing",
    "red", "green", "blue", "yellow", "orange", "purple", "black", "white", "gray", "circle", "square", "triangle",
]

SENTENCES = [
    "You are a helpful assistant.",
    "Which emotion does this image most strongly evoke? Choose from: amusement, awe, contentment, excitement, anger, disgust, fear, sadness.",
    "What facial expression does the person in the image show? Answer with one of: angry, disgust, fear, happy, sad, surprise.",
    "What objects appear in the image? Answer briefly. List the main objects in this picture.",
    "What is the background scene of the image? Where was this picture taken? Describe the scene of the image in a few words.",
    "What action is the person in the image doing? What is the human in this picture doing?",
    "How bright is the image? Rate the brightness of this picture: very low, low, moderate, high or very high.",
    "How colorful is the image? What is the colorfulness level of the image?",
    "Describe the image. The picture shows a scene with objects and a person.",
]


def corpus_words():
    """The corpus's words of three letters or more: the random words of the pretraining lookup tables."""
    return sorted({w for line in corpus_lines() for w in line.replace(",", " ").replace(".", " ").replace("?", " ").split()
                   if w.isalpha() and len(w) > 2})


def corpus_lines():
    lines = list(SENTENCES)
    for labels in LABEL_SETS.values():
        lines.append(", ".join(labels))
        lines.extend(labels)
    lines.extend(ASPECT_WORDS)
    return lines
