"""Strings of the Stable Diffusion "fantasy landscape" page (keys `sd.`)."""

EN = {
    "sd.intro": "The homework passed a photo to the **text-to-image** pipeline, which ignores it. "
    "**Image-to-image** starts from the photo instead of pure noise: it adds the noise of one "
    "timestep, chosen by the **strength**, and denoises only from there. The less strength, the "
    "more of the picture survives.",
    "sd.input": "Input image",
    "sd.source": "Start from",
    "sd.source.sketch": "the bundled mountain sketch",
    "sd.source.upload": "my own image",
    "sd.upload": "Upload a photo (PNG, JPEG, WebP…)",
    "sd.upload.none": "No image uploaded yet: using the mountain sketch.",
    "sd.prompt": "Prompt",
    "sd.prompt.empty": "An empty prompt is the unconditional prompt: the same empty text classifier-free "
    "guidance compares every step against. With it the model denoises toward no text at all, so guidance has "
    "nothing to push toward (only away from a negative prompt).",
    "sd.negative": "Negative prompt (what to steer away from)",
    "sd.strength": "Strength",
    "sd.strength.help": "How far back along the noise schedule to start: 0 keeps the image, 1 starts from pure noise.",
    "sd.guidance": "Guidance scale",
    "sd.guidance.help": "Classifier-free guidance: how hard the prompt pushes each step (1 = no guidance).",
    "sd.steps": "Steps (of the full schedule)",
    "sd.side": "Longer side of the output (pixels)",
    "sd.scheduler": "Scheduler",
    "sd.model": "Model: Hub id, local diffusers folder or .safetensors file",
    "sd.model.help": "Default: the SD_MODEL environment variable, else stable-diffusion-v1-5 from the Hub.",
    "sd.arith.title": "What strength does: the step arithmetic",
    "sd.arith.text": "The {scheduler} schedule of **{steps}** steps is made; img2img keeps its last "
    "int({steps} × {strength}) = **{kept}** steps and skips the rest.",
    "sd.arith.pndm": "PNDM, SD-1.5's default scheduler, repeats one timestep of its schedule, so the UNet "
    "runs once more than that.",
    "sd.noisy.title": "The noisy starting point",
    "sd.noisy.caption": "Your image with the noise of t = {t} added by the real scheduler "
    "(`scheduler.add_noise`). Shown in pixel space for the eye; the pipeline adds the same "
    "noise to the VAE latent (4 × H/8 × W/8).",
    "sd.noisy.input": "Input x₀",
    "sd.noisy.start": "Starting point x_t, t = {t}",
    "sd.gen.title": "Generate",
    "sd.weights.missing": "No weights for `{model}` on this computer, and huggingface.co cannot be reached: "
    "Generate and the contact sheet are off. Sections 1 and 2 above need no weights, and neither do these:",
    "sd.weights.download": "No weights for `{model}` on this computer yet: Generate downloads them first "
    "(about 4 GB, minutes).",
    "sd.cpu_warning": "You are on the CPU. With the real SD-1.5 weights each step takes seconds to tens of "
    "seconds and a run several minutes; the size is capped at {cap} px here. A GPU does "
    "a step in a fraction of a second.",
    "sd.generate": "Generate",
    "sd.progress": "Step {step} of {steps} (t = {t})",
    "sd.previews": "What the model thinks the image is, step by step (cheap latent → RGB preview of x̂₀)",
    "sd.done": "{n} UNet steps from t = {t} in {seconds:.1f} s on {device}.",
    "sd.tokens": "CLIP reads at most 77 tokens: your prompt has {n}, the rest was ignored.",
    "sd.settings": "Settings of this image",
    "sd.sheet.title": "Contact sheet: strength × guidance at one seed",
    "sd.sheet.caption": "Each cell is one run with the same seed and prompt: rows change the strength, "
    "columns the guidance scale.",
}

ZH = {
    "sd.intro": "作业里把照片传给了**文生图**管线，而它会忽略这张图。**图生图**从照片出发而不是从纯噪声出发："
    "按**强度**（strength）选定一个时间步，加上该时间步的噪声，再只从那里开始去噪。强度越小，"
    "原图保留得越多。",
    "sd.input": "输入图像",
    "sd.source": "起点",
    "sd.source.sketch": "自带的雪山草图",
    "sd.source.upload": "我自己的图片",
    "sd.upload": "上传照片（PNG、JPEG、WebP…）",
    "sd.upload.none": "还没有上传图片：先使用雪山草图。",
    "sd.prompt": "提示词",
    "sd.prompt.empty": "空提示词就是“无条件”提示词：无分类器引导在每一步都拿它作对照。用它时模型不朝任何文字去噪，"
    "引导没有可以推向的目标（只能远离反向提示词）。",
    "sd.negative": "反向提示词（希望避开的内容）",
    "sd.strength": "强度",
    "sd.strength.help": "沿噪声调度往回退多远再开始：0 保持原图，1 从纯噪声开始。",
    "sd.guidance": "引导系数",
    "sd.guidance.help": "无分类器引导：提示词在每一步推动的力度（1 = 不引导）。",
    "sd.steps": "步数（完整调度的）",
    "sd.side": "输出图像的长边（像素）",
    "sd.scheduler": "调度器",
    "sd.model": "模型：Hub 名称、本地 diffusers 文件夹或 .safetensors 文件",
    "sd.model.help": "默认：环境变量 SD_MODEL，否则为 Hub 上的 stable-diffusion-v1-5。",
    "sd.arith.title": "强度做了什么：步数的算术",
    "sd.arith.text": "先生成 **{steps}** 步的 {scheduler} 调度；图生图保留其最后 "
    "int({steps} × {strength}) = **{kept}** 步，跳过其余的步。",
    "sd.arith.pndm": "PNDM 是 SD-1.5 的默认调度器，它的调度中有一个时间步重复一次，所以 UNet 会多运行一次。",
    "sd.noisy.title": "加噪后的起点",
    "sd.noisy.caption": "用真实的调度器（`scheduler.add_noise`）给你的图像加上 t = {t} 的噪声。为便于观察，"
    "这里在像素空间中展示；管线实际把同样的噪声加在 VAE 潜变量（4 × H/8 × W/8）上。",
    "sd.noisy.input": "输入 x₀",
    "sd.noisy.start": "起点 x_t，t = {t}",
    "sd.gen.title": "生成",
    "sd.weights.missing": "本机没有 `{model}` 的权重，且无法连接 huggingface.co：“生成”和对照表已停用。"
    "上面的第 1、2 部分无需权重，下面这些页面也不需要：",
    "sd.weights.download": "本机还没有 `{model}` 的权重：点击“生成”会先下载（约 4 GB，需要几分钟）。",
    "sd.cpu_warning": "当前在 CPU 上运行。使用真实的 SD-1.5 权重时每一步需要几秒到几十秒，一次生成需要几分钟；"
    "这里的尺寸上限为 {cap} 像素。GPU 每一步只需不到一秒。",
    "sd.generate": "生成",
    "sd.progress": "第 {step} / {steps} 步（t = {t}）",
    "sd.previews": "模型在每一步“认为”的图像（x̂₀ 的潜变量 → RGB 快速预览）",
    "sd.done": "在 {device} 上从 t = {t} 开始运行了 {n} 个 UNet 步，用时 {seconds:.1f} 秒。",
    "sd.tokens": "CLIP 最多读取 77 个词元：你的提示词有 {n} 个，多出的部分被忽略了。",
    "sd.settings": "这张图的设置",
    "sd.sheet.title": "对照表：同一种子下的强度 × 引导系数",
    "sd.sheet.caption": "每个格子是一次运行，种子和提示词相同：行改变强度，列改变引导系数。",
}
